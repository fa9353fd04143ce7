//! How many times each account's facts may have changed: what a cache of something derived from
//! one account's facts (its daily lifecycle, in `tenure-reports`) checks its entries against.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tenure_core::AccountId;

/// Which state of an account's facts a value was derived from ([`Model::generation`]): two
/// equal generations of one account are the same facts.
///
/// A generation names its model as well as a count of changes, and no two models of one
/// process share a name, so a value derived from a model since replaced (rebuilt, restored
/// from a snapshot, whose counts start again) is never taken for one of the new model's.
///
/// [`Model::generation`]: super::Model::generation
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generation {
    model: u64,
    changes: u64,
}

/// The models made in this process so far: the next one's name.
static MODELS: AtomicU64 = AtomicU64::new(0);

/// Each account's count of changes, in one model.
#[derive(Debug)]
pub(super) struct Generations {
    model: u64,
    /// Accounts never changed are absent (count 0).
    changes: HashMap<AccountId, u64>,
}

impl Default for Generations {
    fn default() -> Self {
        Generations {
            model: MODELS.fetch_add(1, Ordering::Relaxed),
            changes: HashMap::new(),
        }
    }
}

impl Generations {
    /// The account's facts may have changed. Counted on every change, not once until someone
    /// asks (as [`super::Model::take_touched`] is): a cache may have read the count in between.
    pub(super) fn bump(&mut self, account: &AccountId) {
        match self.changes.get_mut(account) {
            Some(n) => *n += 1,
            None => {
                self.changes.insert(account.clone(), 1);
            }
        }
    }

    pub(super) fn of(&self, account: &AccountId) -> Generation {
        Generation {
            model: self.model,
            changes: self.changes.get(account).copied().unwrap_or(0),
        }
    }
}
