//! A value derived from the model, kept across changes.

use std::sync::{Mutex, OnceLock, PoisonError};

/// A value derived from the model's facts: computed in full on its first read, then, after the
/// facts change, brought up to date on the next read from what changed (`C`) rather than
/// computed again from nothing.
///
/// Why this shape: readers share the model (`&Model`, many at once under a read lock) while
/// `apply` has it alone (`&mut Model`, under the write lock every reader waits for). So `apply`
/// only records what changed and moves the value aside, which costs nothing however large the
/// value is, and the next read does the work and frees whatever it replaces, outside the write
/// lock. An entry that changes nothing the value depends on records nothing, and the value
/// stays as it is.
#[derive(Debug)]
pub(super) struct Kept<T, C> {
    current: OnceLock<T>,
    /// The last value computed and what changed since; taken by the next read. At most one of
    /// `current` and `stale` holds a value.
    stale: Mutex<Option<(T, C)>>,
}

impl<T, C> Default for Kept<T, C> {
    fn default() -> Self {
        Kept {
            current: OnceLock::new(),
            stale: Mutex::new(None),
        }
    }
}

impl<T, C: Default> Kept<T, C> {
    /// Where to record a change; none when no value was computed (the next read computes it in
    /// full, so there is nothing to bring up to date).
    pub(super) fn changes(&mut self) -> Option<&mut C> {
        let stale = self.stale.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = self.current.take() {
            *stale = Some((value, C::default()));
        }
        stale.as_mut().map(|(_, changes)| changes)
    }

    /// The value: as it is, or brought up to date by `update` from the changes recorded since,
    /// or computed by `build` if there was none.
    pub(super) fn get(&self, build: impl FnOnce() -> T, update: impl FnOnce(&mut T, C)) -> &T {
        self.current.get_or_init(|| {
            let stale = self
                .stale
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match stale {
                Some((mut value, changes)) => {
                    update(&mut value, changes);
                    value
                }
                None => build(),
            }
        })
    }
}
