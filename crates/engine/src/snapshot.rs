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
//! magic "TNRSNAP\n" | format version: u32 | header length: u32 | header | header CRC-32: u32
//!     | section | section | ...
//! ```
//!
//! The header (postcard) says which build wrote it, with which engine settings, for which
//! workspace and through which log position, and lists the sections that follow, in order,
//! each with its length and CRC-32. A section is one part of the model's facts (the ledger,
//! the profiles, the identity graph, a quarter of the identity components, the offline rows,
//! product usage, success facts; see `model::parts`) or the caller's state kept beside it,
//! each encoded (postcard) on its own, so that:
//!
//! - the sections decode on every core at once ([`decode`]);
//! - a reader that reads only part of a model (a report of the ledger: [`Reads`]) reads and
//!   decodes only those sections ([`decode_reading`]), at their offsets, never the rest.
//!
//! The lengths tell a truncated file from a corrupt one; a section's checksum is checked
//! before it is decoded, so a corrupt section is refused whenever it is read (one never read
//! changes nothing the reader sees). Pure encoding and decoding: no I/O here (the caller
//! reads the bytes asked for).

use std::borrow::Cow;
use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tenure_core::WorkspaceId;

use crate::model::parts::{self, Section};
use crate::model::{EngineSettings, Model};

const MAGIC: &[u8; 8] = b"TNRSNAP\n";
/// The magic, the format version and the header's length.
const FRAME: usize = MAGIC.len() + 4 + 4;
/// The layout of the frame, header and sections above; the sections' contents are the
/// build's (see [`BUILD`]). Version 1 was one body holding the whole model.
pub const FORMAT_VERSION: u32 = 2;
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

/// What of a model a reader reads, besides the accounts seen and the end of the data, which
/// every model decoded has: a model decoded for some of these has the facts they need, and
/// the others empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reads(u8);

impl Reads {
    /// Only the accounts seen and the end of the data.
    pub const NOTHING: Reads = Reads(0);
    /// MRR changes, deals, invoices, spend and the webhook events not interpreted.
    pub const LEDGER: Reads = Reads(1);
    /// Account attributes and group traits.
    pub const PROFILES: Reads = Reads(1 << 1);
    /// Touchpoints, account and visitor journeys, identities and their first events.
    pub const JOURNEYS: Reads = Reads(1 << 2);
    /// Product usage and activation.
    pub const USAGE: Reads = Reads(1 << 3);
    /// Tickets, surveys, account-team touches, advocacy.
    pub const SUCCESS: Reads = Reads(1 << 4);
    /// The whole model.
    pub const ALL: Reads = Reads((1 << 5) - 1);

    /// Both `self` and `other`.
    pub const fn with(self, other: Reads) -> Reads {
        Reads(self.0 | other.0)
    }

    /// Whether everything `other` reads is read.
    pub const fn contains(self, other: Reads) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether anything `other` reads is read.
    pub const fn overlaps(self, other: Reads) -> bool {
        self.0 & other.0 != 0
    }
}

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Content {
    /// The caller's state kept beside the model: always read.
    Extra,
    Model(Section),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SectionEntry {
    content: Content,
    len: u64,
    /// CRC-32, little-endian: four bytes whatever its value (postcard would write a `u32` in
    /// one to five), so that snapshots of the same facts are the same size.
    crc: [u8; 4],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    build: String,
    settings: String,
    workspace: String,
    position: Position,
    /// In the order they follow the header.
    sections: Vec<SectionEntry>,
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
    #[error("cannot read it: {0}")]
    Read(String),
}

/// A decoded snapshot: the model, where in the log it stands, and the caller's state saved
/// beside it.
#[derive(Debug)]
pub struct Restored<T> {
    pub model: Model,
    pub position: Position,
    pub extra: T,
    /// What of the model was decoded: [`Reads::ALL`], or less when the caller asked for
    /// less, and then the model lacks the other facts — it answers what it was decoded for,
    /// and must be neither saved as a snapshot nor given further entries.
    pub reads: Reads,
}

/// A fingerprint of the settings that shape derived state: a snapshot taken under other
/// settings holds other sessions, channels or activation and must not be read.
pub fn settings_fingerprint(settings: &EngineSettings) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_vec(settings).expect("settings serialize");
    hex::encode(Sha256::digest(canonical))
}

/// The snapshot of `model`, which has applied `position` of `workspace`'s log, with `extra`
/// (whatever the caller keeps beside the model and wants back with it). The sections are
/// encoded on every core.
pub fn encode<T: Serialize>(
    workspace: &WorkspaceId,
    position: &Position,
    model: &Model,
    extra: &T,
) -> Vec<u8> {
    let mut sections = vec![(
        Content::Extra,
        postcard::to_stdvec(extra).expect("the caller's state serializes"),
    )];
    let model_sections = Section::all();
    let encoded: Vec<Vec<u8>> = model_sections
        .par_iter()
        .map(|&section| parts::encode(model, section))
        .collect();
    sections.extend(model_sections.into_iter().map(Content::Model).zip(encoded));
    let header = Header {
        build: BUILD.to_owned(),
        settings: settings_fingerprint(model.settings()),
        workspace: workspace.as_str().to_owned(),
        position: position.clone(),
        sections: sections
            .iter()
            .map(|(content, bytes)| SectionEntry {
                content: *content,
                len: bytes.len() as u64,
                crc: crc32fast::hash(bytes).to_le_bytes(),
            })
            .collect(),
    };
    let header = postcard::to_stdvec(&header).expect("a header serializes");
    let total = FRAME + header.len() + 4 + sections.iter().map(|(_, b)| b.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let header_len = u32::try_from(header.len()).expect("a header is under 4 GiB");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
    for (_, bytes) in sections {
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads `len` bytes at an offset of the snapshot; the reason if it cannot.
pub type ReadAt<'a> = dyn Fn(u64, usize) -> Result<Cow<'a, [u8]>, String> + Sync + 'a;

/// The model, position and extra state of a snapshot of `workspace` written by this build
/// under `settings`, all of it decoded; an error saying why the bytes cannot be trusted
/// otherwise.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    workspace: &WorkspaceId,
    settings: &EngineSettings,
) -> Result<Restored<T>, SnapshotError> {
    let read = |at: u64, len: usize| -> Result<Cow<'_, [u8]>, String> {
        let at = at as usize;
        Ok(Cow::Borrowed(&bytes[at..at + len]))
    };
    decode_reading(&read, bytes.len() as u64, workspace, settings, |_| {
        Reads::ALL
    })
}

/// [`decode`] of a snapshot of `len` bytes that `read` reads, decoding only the sections a
/// reader of what `reads` chooses needs (chosen once the header says where the snapshot
/// stands in the log): only those are read, checked and decoded, on every core. The header is
/// checked whatever is chosen.
pub fn decode_reading<T: DeserializeOwned>(
    read: &ReadAt<'_>,
    len: u64,
    workspace: &WorkspaceId,
    settings: &EngineSettings,
    reads: impl FnOnce(&Position) -> Reads,
) -> Result<Restored<T>, SnapshotError> {
    let size = usize::try_from(len).unwrap_or(usize::MAX);
    let frame = read(0, FRAME.min(size)).map_err(SnapshotError::Read)?;
    if frame.len() < MAGIC.len() || &frame[..MAGIC.len()] != MAGIC {
        return Err(if MAGIC.starts_with(&frame) {
            SnapshotError::Truncated {
                len: size,
                needed: FRAME + 4,
            }
        } else {
            SnapshotError::NotASnapshot
        });
    }
    let word = |at: usize| -> Option<u32> {
        let raw = frame.get(at..at + 4)?;
        Some(u32::from_le_bytes(raw.try_into().expect("four bytes")))
    };
    let truncated = |needed: u64| SnapshotError::Truncated {
        len: size,
        needed: usize::try_from(needed).unwrap_or(usize::MAX),
    };
    let version = word(MAGIC.len()).ok_or(truncated(FRAME as u64 + 4))?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::FormatVersion {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let header_len = word(MAGIC.len() + 4).ok_or(truncated(FRAME as u64 + 4))? as usize;
    let sections_at = (FRAME + header_len + 4) as u64;
    if len < sections_at {
        return Err(truncated(sections_at));
    }
    let header_bytes = read(FRAME as u64, header_len + 4).map_err(SnapshotError::Read)?;
    let (header_bytes, crc) = header_bytes.split_at(header_len);
    if crc32fast::hash(header_bytes) != u32::from_le_bytes(crc.try_into().expect("four bytes")) {
        return Err(SnapshotError::Checksum);
    }
    let header: Header = postcard::from_bytes(header_bytes)
        .map_err(|e| SnapshotError::Undecodable(format!("header: {e}")))?;
    let needed = header
        .sections
        .iter()
        .fold(sections_at, |at, s| at.saturating_add(s.len));
    if len < needed {
        return Err(truncated(needed));
    }
    if len > needed {
        return Err(SnapshotError::Undecodable(format!(
            "{} bytes after the last section",
            len - needed
        )));
    }
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
    let reads = reads(&header.position);
    // Where each section lies; every one this build writes must be there, once.
    let mut extra = None;
    let mut wanted: Vec<(Section, u64, &SectionEntry)> = Vec::new();
    let mut at = sections_at;
    for entry in &header.sections {
        match entry.content {
            Content::Extra if extra.is_none() => extra = Some((at, entry)),
            Content::Model(section) if !wanted.iter().any(|(s, ..)| *s == section) => {
                wanted.push((section, at, entry))
            }
            content => {
                return Err(SnapshotError::Undecodable(format!(
                    "section {content:?} twice"
                )))
            }
        }
        at += entry.len;
    }
    for section in Section::all() {
        if !wanted.iter().any(|(s, ..)| *s == section) {
            return Err(SnapshotError::Undecodable(format!(
                "no section {section:?}"
            )));
        }
    }
    let extra = extra.ok_or_else(|| SnapshotError::Undecodable("no section Extra".into()))?;
    let section_bytes = |at: u64, entry: &SectionEntry| -> Result<Cow<'_, [u8]>, SnapshotError> {
        let bytes = read(at, entry.len as usize).map_err(SnapshotError::Read)?;
        if crc32fast::hash(&bytes).to_le_bytes() != entry.crc {
            return Err(SnapshotError::Checksum);
        }
        Ok(bytes)
    };
    wanted.retain(|(section, ..)| section.needed_by(reads));
    // The longest first, so that no thread is left with a long one at the end.
    wanted.sort_by_key(|(_, _, entry)| std::cmp::Reverse(entry.len));
    let parts = wanted
        .par_iter()
        .map(|&(section, at, entry)| {
            let bytes = section_bytes(at, entry)?;
            parts::decode(section, &bytes, settings)
                .map_err(|e| SnapshotError::Undecodable(format!("{section:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let extra: T = {
        let bytes = section_bytes(extra.0, extra.1)?;
        let (value, rest) = postcard::take_from_bytes(&bytes)
            .map_err(|e| SnapshotError::Undecodable(format!("the caller's state: {e}")))?;
        if !rest.is_empty() {
            return Err(SnapshotError::Undecodable(format!(
                "{} bytes after the caller's state",
                rest.len()
            )));
        }
        value
    };
    Ok(Restored {
        model: Model::from_parts(settings.clone(), parts),
        position: header.position,
        extra,
        reads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::{
        AccountId, Currency, Entry, EntryBody, Money, Source, StoredEntry, SubscriptionRow,
        Timestamp,
    };

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
        model.apply(&StoredEntry {
            seq: 2,
            entry: Entry {
                workspace: workspace(),
                source: Source::Import,
                received_at: at,
                body: EntryBody::Subscription(SubscriptionRow {
                    account_id: AccountId::parse("acme").unwrap(),
                    effective_at: at,
                    mrr: Money::new(10_000, Currency::USD),
                    plan: Some("pro".into()),
                    seats: None,
                }),
            },
        });
        let position = Position {
            applied_through: 2,
            applied_ahead: BTreeSet::from([3]),
        };
        encode(&workspace(), &position, &model, &vec![7u8])
    }

    fn read(bytes: &[u8]) -> Result<Restored<Vec<u8>>, SnapshotError> {
        decode(bytes, &workspace(), &EngineSettings::default())
    }

    fn header_len(bytes: &[u8]) -> usize {
        u32::from_le_bytes(bytes[FRAME - 4..FRAME].try_into().unwrap()) as usize
    }

    /// `bytes` with its header replaced by `header` and its checksum made right again.
    fn with_header(bytes: &[u8], header: &Header) -> Vec<u8> {
        let sections = &bytes[FRAME + header_len(bytes) + 4..];
        let header = postcard::to_stdvec(header).unwrap();
        let mut out = bytes[..FRAME - 4].to_vec();
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
        out.extend_from_slice(sections);
        out
    }

    fn header(bytes: &[u8]) -> Header {
        postcard::from_bytes(&bytes[FRAME..FRAME + header_len(bytes)]).unwrap()
    }

    /// Where the section holding `content` lies in `bytes`.
    fn section_range(bytes: &[u8], content: Content) -> std::ops::Range<usize> {
        let mut at = FRAME + header_len(bytes) + 4;
        for entry in header(bytes).sections {
            if entry.content == content {
                return at..at + entry.len as usize;
            }
            at += entry.len as usize;
        }
        panic!("no section {content:?}")
    }

    /// What [`read_only`] gives: the decoding, and the ranges it read.
    type ReadOnly = (Result<Restored<Vec<u8>>, SnapshotError>, Vec<(u64, usize)>);

    /// [`decode_reading`] for `reads` from memory, with the ranges it read.
    fn read_only(bytes: &[u8], reads: Reads) -> ReadOnly {
        let asked = std::sync::Mutex::new(Vec::new());
        let read = |at: u64, len: usize| -> Result<Cow<'_, [u8]>, String> {
            asked.lock().unwrap().push((at, len));
            Ok(Cow::Borrowed(&bytes[at as usize..at as usize + len]))
        };
        let restored = decode_reading(
            &read,
            bytes.len() as u64,
            &workspace(),
            &EngineSettings::default(),
            |_| reads,
        );
        (restored, asked.into_inner().unwrap())
    }

    #[test]
    fn a_snapshot_reads_back_as_the_model_it_saved() {
        let bytes = saved();
        let restored = read(&bytes).unwrap();
        assert_eq!(restored.extra, vec![7u8]);
        assert_eq!(restored.position.applied_through, 2);
        assert!(restored.position.covers(3) && !restored.position.covers(4));
        assert_eq!(restored.reads, Reads::ALL);
        assert_eq!(restored.model.ledger().accounts().count(), 1);
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

    #[test]
    fn a_reader_of_the_ledger_reads_and_decodes_only_the_sections_it_needs() {
        let bytes = saved();
        let (restored, asked) = read_only(&bytes, Reads::LEDGER);
        let restored = restored.unwrap();
        assert_eq!(restored.reads, Reads::LEDGER);
        assert_eq!(restored.extra, vec![7u8]);
        assert_eq!(restored.model.ledger().accounts().count(), 1);
        assert_eq!(restored.model.account_ids().count(), 1);
        // The page view is in sections it did not read.
        assert_eq!(restored.model.summary().touchpoints, 0);
        let read: Vec<std::ops::Range<usize>> = asked
            .iter()
            .map(|&(at, len)| at as usize..at as usize + len)
            .collect();
        for content in [
            Content::Model(Section::Graph),
            Content::Model(Section::Offline),
            Content::Model(Section::Usage),
        ] {
            let range = section_range(&bytes, content);
            assert!(
                read.iter()
                    .all(|r| r.end <= range.start || r.start >= range.end),
                "{content:?} was read"
            );
        }
        for content in [
            Content::Extra,
            Content::Model(Section::Core),
            Content::Model(Section::Ledger),
        ] {
            assert!(
                read.contains(&section_range(&bytes, content)),
                "{content:?}"
            );
        }

        let (journeys, _) = read_only(&bytes, Reads::JOURNEYS);
        let journeys = journeys.unwrap().model;
        assert_eq!(journeys.summary().touchpoints, 1);
        assert_eq!(journeys.ledger().accounts().count(), 0);
    }

    #[test]
    fn a_corrupt_section_is_refused_by_every_reader_that_reads_it() {
        let bytes = saved();
        let mut bad = bytes.clone();
        let graph = section_range(&bytes, Content::Model(Section::Graph));
        bad[graph.start] ^= 0x20;
        assert_eq!(read(&bad).unwrap_err(), SnapshotError::Checksum);
        assert_eq!(
            read_only(&bad, Reads::JOURNEYS).0.unwrap_err(),
            SnapshotError::Checksum
        );
        // A reader of the ledger never sees it.
        assert!(read_only(&bad, Reads::LEDGER).0.is_ok());
    }

    #[test]
    fn a_header_missing_or_repeating_a_section_is_refused() {
        let bytes = saved();
        let mut missing = header(&bytes);
        let usage = missing
            .sections
            .iter()
            .position(|s| s.content == Content::Model(Section::Usage))
            .unwrap();
        missing.sections.remove(usage);
        // The usage section's bytes now follow the last section.
        let err = read(&with_header(&bytes, &missing)).unwrap_err();
        assert!(matches!(err, SnapshotError::Undecodable(_)), "{err}");

        let mut twice = header(&bytes);
        twice.sections[usage].content = Content::Model(Section::Ledger);
        let err = read(&with_header(&bytes, &twice)).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }
}
