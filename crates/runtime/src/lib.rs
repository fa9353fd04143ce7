//! tenure's running state, whoever serves it.
//!
//! [`Live`] holds every workspace's derived state in memory: rebuilt from the log at start-up,
//! kept current by an applier thread for what this process stores and by tailing the log for
//! what others append, with every account's live status and the stored daily health history.
//! [`jobs`] runs what a long-lived process does on its own over time, on a [`Scheduler`]. Time is
//! a [`Clock`] the caller gives, never read here (the
//! metrics measure elapsed time alone, with `Instant`). The HTTP crate translates requests into calls
//! here; the binary wires a store, a clock and a listener to it.
//!
//! **Invariant: no HTTP and no command-line concerns; the derived state is the engine's, applied
//! here exactly once per log entry whichever way the entry arrived.**

pub mod actions;
mod clock;
pub mod conversions;
mod deciding;
pub mod jobs;
mod live;
mod metrics;
pub mod replay;
mod scheduler;
pub mod snapshots;
mod status;

pub use actions::Actions;
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversions::{Conversions, Converted};
pub use live::{EntryObserver, Live, Rebuilt, StatusKeeping, StatusObserver};
pub use scheduler::{JobError, Scheduler};
pub use snapshots::SnapshotFiles;
pub use status::{status, Status, Uninterpreted};
