//! Snapshot files: each workspace's model saved in the data directory at a log position
//! (`<data-dir>/snapshots/<workspace>.snapshot`, the form of [`tenure_engine::snapshot`]), so
//! a process starts from the latest one and replays only the log after it.
//!
//! A snapshot is a cache, never the record: one that is missing, unreadable, corrupt, or from
//! another build or other engine settings is ignored with one log line and the whole log is
//! replayed. Deleting the directory is always safe. Each file is replaced atomically (written
//! to a temporary file, synced, renamed over the old one), so a reader sees the old snapshot
//! or the new one, never half of one, and at most one is kept per workspace besides one being
//! written.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tenure_core::WorkspaceId;

use crate::Live;

/// The directory under the data directory that holds the snapshots.
pub const DIRECTORY: &str = "snapshots";
/// A temporary file older than this is a writer's that died: removed by the next writer.
const ABANDONED_AFTER: Duration = Duration::from_secs(60 * 60);

/// Temporary files of this process, numbered so two writers in one process never share one.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// The snapshot files of one data directory.
#[derive(Debug, Clone)]
pub struct SnapshotFiles {
    dir: PathBuf,
}

impl SnapshotFiles {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join(DIRECTORY),
        }
    }

    /// Where the snapshot of `workspace` is kept (workspace names are file-name safe).
    pub fn path(&self, workspace: &WorkspaceId) -> PathBuf {
        self.dir.join(format!("{}.snapshot", workspace.as_str()))
    }

    /// The workspace's snapshot file, open to read, and its length; none if there is none.
    pub fn open(&self, workspace: &WorkspaceId) -> io::Result<Option<(fs::File, u64)>> {
        match fs::File::open(self.path(workspace)) {
            Ok(file) => {
                let len = file.metadata()?.len();
                Ok(Some((file, len)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the workspace's snapshot with `bytes`, atomically and durably.
    pub fn write(&self, workspace: &WorkspaceId, bytes: &[u8]) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let target = self.path(workspace);
        let prefix = format!("{}.snapshot.", workspace.as_str());
        self.remove_abandoned(&prefix);
        let temporary = self.dir.join(format!(
            "{prefix}{}-{}.tmp",
            std::process::id(),
            NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &target)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
            return written;
        }
        // The rename is durable once the directory is (on Unix; elsewhere this is a no-op).
        #[cfg(unix)]
        fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    /// Removes temporary files a writer left when it died (never a live writer's: those are
    /// recent).
    fn remove_abandoned(&self, prefix: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
                continue;
            }
            let abandoned = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|at| SystemTime::now().duration_since(at).ok())
                .is_some_and(|age| age > ABANDONED_AFTER);
            if abandoned {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// `len` bytes of `file` at offset `at`, without moving a shared position, so that several
/// threads read sections of one snapshot at once.
pub(crate) fn read_at(file: &fs::File, at: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut bytes, at)?;
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < len {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut bytes[done..],
                at + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
    }
    Ok(bytes)
}

/// Saves the workspace's model as its snapshot when at least `after` entries were applied
/// since the last one was taken, or when the directory holds none for it yet; the size written
/// if it did.
pub fn save(
    live: &Live,
    files: &SnapshotFiles,
    workspace: &WorkspaceId,
    after: u64,
) -> io::Result<Option<usize>> {
    let min_new = if files.path(workspace).exists() {
        after
    } else {
        1
    };
    let Some(bytes) = live.snapshot(workspace, min_new) else {
        return Ok(None);
    };
    files.write(workspace, &bytes)?;
    Ok(Some(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_snapshot_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = SnapshotFiles::in_data_dir(dir.path());
        let ws = WorkspaceId::default_workspace();
        assert!(files.open(&ws).unwrap().is_none());
        files.write(&ws, b"first").unwrap();
        files.write(&ws, b"second").unwrap();
        assert_eq!(fs::read(files.path(&ws)).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path().join(DIRECTORY))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["default.snapshot"]);
    }
}
