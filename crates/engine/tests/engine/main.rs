//! Behaviour tests of the engine through its public API: entries in, touchpoints and identity
//! out. Table-driven where the area is a table (channels), one small story per rule elsewhere,
//! and a property test for the invariant the whole crate is built around: replay equals live.

mod channels;
mod identity;
mod kept;
mod milestones;
mod replay;
mod sessions;
mod settings;
mod support;
mod usage;
