//! tenure's running state, whoever serves it.
//!
//! [`Live`] holds every workspace's derived state in memory: rebuilt from the log at start-up,
//! kept current by an applier thread for what this process stores and by tailing the log for
//! what others append, with every account's live status and the stored daily health history.
//! [`jobs`] runs what a long-lived process does on its own over time. The HTTP crate translates
//! requests into calls here; the binary wires a store and a listener to it.
//!
//! **Invariant: no HTTP and no command-line concerns; the derived state is the engine's, applied
//! here exactly once per log entry whichever way the entry arrived.**

pub mod jobs;
mod live;
pub mod snapshots;
mod status;

pub use live::{Live, Rebuilt, StatusKeeping, StatusObserver};
pub use snapshots::SnapshotFiles;
pub use status::{status, Status, Uninterpreted};
