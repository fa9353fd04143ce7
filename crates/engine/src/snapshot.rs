//! Snapshots: a [`Model`] saved as bytes at a position in the log, so that a process can start
//! from it and replay only the log's tail instead of all of it.
//!
//! A snapshot is a cache, never the record: the log alone states the facts, and a snapshot
//! that cannot be trusted is refused here with the reason (the caller then replays the whole
//! log). **Invariant:** decoding a snapshot of a model that had applied a set of entries, then
//! applying the rest of the log, gives the model a full replay gives.
//!
//! The form, all integers little-endian:
//!
//! ```text
//! magic "TNRSNAP\n" | format version: u32 | header length: u32 | body length: u64
//!     | header | body | CRC-32: u32
//! ```
//!
//! The header (postcard) says which build wrote it, with which engine settings, for which
//! workspace and through which log position; the body (postcard) is the model's facts and
//! whatever the caller keeps beside them. The lengths tell a truncated file from a corrupt
//! one; the CRC-32 covers the header and the body. Pure
//! encoding and decoding: no I/O here.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tenure_core::WorkspaceId;

use crate::model::{EngineSettings, Model};

const MAGIC: &[u8; 8] = b"TNRSNAP\n";
/// The magic, the format version and the two lengths.
const FRAME: usize = MAGIC.len() + 4 + 4 + 8;
/// The layout of the frame and header above; the body's layout is the build's (see
/// [`BUILD`]).
pub const FORMAT_VERSION: u32 = 1;
/// The build a snapshot must come from: the crate version and a hash of the sources of the
/// engine, core and ingest crates (computed by build.rs), since postcard carries no field
/// names, so a body written by a model with other fields would not read back as what was
/// saved, and a model that interprets entries otherwise must not inherit an older one's.
pub const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("TENURE_ENGINE_SOURCE_HASH")
);

/// How far into a workspace's log a snapshot's model has applied: every entry up to and
/// including `applied_through`, and those in `applied_ahead` beyond it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub applied_through: i64,
    pub applied_ahead: BTreeSet<i64>,
}

impl Position {
    /// Whether the entry of `seq` is already in the snapshot's model.
    pub fn covers(&self, seq: i64) -> bool {
        seq <= self.applied_through || self.applied_ahead.contains(&seq)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    build: String,
    settings: String,
    workspace: String,
    position: Position,
}

/// Why a snapshot was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a tenure snapshot (it does not start with the snapshot marker)")]
    NotASnapshot,
    #[error("snapshot format version {found}, this build reads version {expected}")]
    FormatVersion { found: u32, expected: u32 },
    #[error("truncated: {len} bytes where the snapshot needs at least {needed}")]
    Truncated { len: usize, needed: usize },
    #[error("corrupt: its checksum does not match its contents")]
    Checksum,
    #[error("written by another build of tenure ({found}; this is {expected})")]
    OtherBuild { found: String, expected: String },
    #[error("written with other [channels], [touchpoints] or [activation] settings")]
    OtherSettings,
    #[error("written for workspace {found:?}, not {expected:?}")]
    OtherWorkspace { found: String, expected: String },
    #[error("corrupt: {0}")]
    Undecodable(String),
}

/// A decoded snapshot: the model, where in the log it stands, and the caller's state saved
/// beside it.
#[derive(Debug)]
pub struct Restored<T> {
    pub model: Model,
    pub position: Position,
    pub extra: T,
}

/// A fingerprint of the settings that shape derived state: a snapshot taken under other
/// settings holds other sessions, channels or activation and must not be read.
pub fn settings_fingerprint(settings: &EngineSettings) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_vec(settings).expect("settings serialize");
    hex::encode(Sha256::digest(canonical))
}

/// The snapshot of `model`, which has applied `position` of `workspace`'s log, with `extra`
/// (whatever the caller keeps beside the model and wants back with it).
pub fn encode<T: Serialize>(
    workspace: &WorkspaceId,
    position: &Position,
    model: &Model,
    extra: &T,
) -> Vec<u8> {
    let header = Header {
        build: BUILD.to_owned(),
        settings: settings_fingerprint(model.settings()),
        workspace: workspace.as_str().to_owned(),
        position: position.clone(),
    };
    let header = postcard::to_stdvec(&header).expect("a header serializes");
    let mut out = Vec::with_capacity(FRAME + header.len() + (1 << 20));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let header_len = u32::try_from(header.len()).expect("a header is under 4 GiB");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&header);
    let mut out = postcard::to_extend(&(model, extra), out).expect("a model serializes");
    let body_len = (out.len() - FRAME - header.len()) as u64;
    out[FRAME - 8..FRAME].copy_from_slice(&body_len.to_le_bytes());
    let crc = crc32fast::hash(&out[FRAME..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The model, position and extra state of a snapshot of `workspace` written by this build
/// under `settings`; an error saying why the bytes cannot be trusted otherwise.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    workspace: &WorkspaceId,
    settings: &EngineSettings,
) -> Result<Restored<T>, SnapshotError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(if MAGIC.starts_with(bytes) {
            SnapshotError::Truncated {
                len: bytes.len(),
                needed: FRAME + 4,
            }
        } else {
            SnapshotError::NotASnapshot
        });
    }
    let field = |at: usize, width: usize| -> Option<u64> {
        let raw = bytes.get(at..at + width)?;
        let mut word = [0u8; 8];
        word[..width].copy_from_slice(raw);
        Some(u64::from_le_bytes(word))
    };
    let truncated = SnapshotError::Truncated {
        len: bytes.len(),
        needed: FRAME + 4,
    };
    let version = field(MAGIC.len(), 4).ok_or(truncated.clone())? as u32;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::FormatVersion {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let header_len = field(MAGIC.len() + 4, 4).ok_or(truncated.clone())?;
    let body_len = field(MAGIC.len() + 8, 8).ok_or(truncated)?;
    let needed = (FRAME as u64)
        .saturating_add(header_len)
        .saturating_add(body_len)
        .saturating_add(4);
    if (bytes.len() as u64) < needed {
        return Err(SnapshotError::Truncated {
            len: bytes.len(),
            needed: usize::try_from(needed).unwrap_or(usize::MAX),
        });
    }
    if (bytes.len() as u64) > needed {
        return Err(SnapshotError::Undecodable(format!(
            "{} bytes after the checksum",
            bytes.len() as u64 - needed
        )));
    }
    let (content, crc) = bytes.split_at(bytes.len() - 4);
    let crc = u32::from_le_bytes(crc.try_into().expect("four bytes"));
    if crc32fast::hash(&content[FRAME..]) != crc {
        return Err(SnapshotError::Checksum);
    }
    let (header, body) = content[FRAME..].split_at(header_len as usize);
    let header: Header =
        postcard::from_bytes(header).map_err(|e| SnapshotError::Undecodable(e.to_string()))?;
    if header.build != BUILD {
        return Err(SnapshotError::OtherBuild {
            found: header.build,
            expected: BUILD.to_owned(),
        });
    }
    if header.settings != settings_fingerprint(settings) {
        return Err(SnapshotError::OtherSettings);
    }
    if header.workspace != workspace.as_str() {
        return Err(SnapshotError::OtherWorkspace {
            found: header.workspace,
            expected: workspace.as_str().to_owned(),
        });
    }
    let ((mut model, extra), rest): ((Model, T), _) =
        postcard::take_from_bytes(body).map_err(|e| SnapshotError::Undecodable(e.to_string()))?;
    if !rest.is_empty() {
        return Err(SnapshotError::Undecodable(format!(
            "{} bytes after the model",
            rest.len()
        )));
    }
    model.restore(settings.clone());
    Ok(Restored {
        model,
        position: header.position,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::{Entry, EntryBody, Source, StoredEntry, Timestamp};

    fn workspace() -> WorkspaceId {
        WorkspaceId::default_workspace()
    }

    fn saved() -> Vec<u8> {
        let mut model = Model::new(EngineSettings::default());
        let message = serde_json::from_value(serde_json::json!({
            "type": "page", "anonymous_id": "a1", "message_id": "m1",
            "timestamp": "2025-03-01T10:00:00Z", "received_at": "2025-03-01T10:00:00Z",
            "context": {"page": {"url": "https://acme.io/?utm_source=google&utm_medium=cpc"}}
        }))
        .unwrap();
        let at = Timestamp::parse("2025-03-01T10:00:00Z").unwrap();
        model.apply(&StoredEntry {
            seq: 1,
            entry: Entry {
                workspace: workspace(),
                source: Source::Http,
                received_at: at,
                body: EntryBody::Segment(message),
            },
        });
        let position = Position {
            applied_through: 1,
            applied_ahead: BTreeSet::from([3]),
        };
        encode(&workspace(), &position, &model, &vec![7u8])
    }

    fn read(bytes: &[u8]) -> Result<Restored<Vec<u8>>, SnapshotError> {
        decode(bytes, &workspace(), &EngineSettings::default())
    }

    /// `bytes` with its header replaced by `header` and the checksum made right again.
    fn with_header(bytes: &[u8], header: &Header) -> Vec<u8> {
        let old_len = u32::from_le_bytes(bytes[FRAME - 12..FRAME - 8].try_into().unwrap());
        let body = &bytes[FRAME + old_len as usize..bytes.len() - 4];
        let header = postcard::to_stdvec(header).unwrap();
        let mut out = bytes[..FRAME - 12].to_vec();
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes[FRAME - 8..FRAME]);
        out.extend_from_slice(&header);
        out.extend_from_slice(body);
        let crc = crc32fast::hash(&out[FRAME..]);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn header(bytes: &[u8]) -> Header {
        let len = u32::from_le_bytes(bytes[FRAME - 12..FRAME - 8].try_into().unwrap()) as usize;
        postcard::from_bytes(&bytes[FRAME..FRAME + len]).unwrap()
    }

    #[test]
    fn a_snapshot_reads_back_as_the_model_it_saved() {
        let bytes = saved();
        let restored = read(&bytes).unwrap();
        assert_eq!(restored.extra, vec![7u8]);
        assert_eq!(restored.position.applied_through, 1);
        assert!(restored.position.covers(3) && !restored.position.covers(2));
        let summary = restored.model.summary();
        assert_eq!((summary.anonymous_ids, summary.touchpoints), (1, 1));
        assert_eq!(
            summary.touchpoints_by_channel.keys().collect::<Vec<_>>(),
            ["paid_search"]
        );
    }

    #[test]
    fn every_cut_short_snapshot_is_refused_as_truncated() {
        let bytes = saved();
        for len in 0..bytes.len() {
            let err = read(&bytes[..len]).unwrap_err();
            assert!(
                matches!(err, SnapshotError::Truncated { .. }),
                "{len} bytes: {err}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let bytes = saved();
        for at in MAGIC.len()..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            assert!(read(&bad).is_err(), "byte {at} changed and still read");
        }
    }

    #[test]
    fn another_format_build_settings_or_workspace_is_refused_saying_which() {
        let bytes = saved();
        let mut other_format = bytes.clone();
        other_format[MAGIC.len()] = 9;
        assert_eq!(
            read(&other_format).unwrap_err(),
            SnapshotError::FormatVersion {
                found: 9,
                expected: FORMAT_VERSION
            }
        );

        let mut old = header(&bytes);
        old.build = "0.0.1+0000000000000000".into();
        let err = read(&with_header(&bytes, &old)).unwrap_err();
        assert!(matches!(err, SnapshotError::OtherBuild { .. }), "{err}");
        assert!(err.to_string().contains("0.0.1+0000000000000000"));

        let mut settings = EngineSettings::default();
        settings.touchpoints.session_timeout_minutes += 1;
        let err = decode::<Vec<u8>>(&bytes, &workspace(), &settings).unwrap_err();
        assert_eq!(err, SnapshotError::OtherSettings);

        let other = WorkspaceId::parse("other").unwrap();
        let err = decode::<Vec<u8>>(&bytes, &other, &EngineSettings::default()).unwrap_err();
        assert!(matches!(err, SnapshotError::OtherWorkspace { .. }), "{err}");

        assert_eq!(
            read(b"PK\x03\x04 something else").unwrap_err(),
            SnapshotError::NotASnapshot
        );
    }
}
