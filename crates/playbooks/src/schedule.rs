//! When each action of a firing is due.

use tenure_core::Timestamp;

use crate::config::Playbook;

/// The due instant of each of `playbook`'s actions, in their order, for a firing at
/// `fired_at`: the firing plus the action's delay, moved out of the playbook's quiet hours.
/// Quiet hours hold back every action alike (tasks too, whose notifications would otherwise
/// wake their owner), so an author who wants a task at night leaves them out.
pub fn schedule(playbook: &Playbook, fired_at: Timestamp) -> Vec<Timestamp> {
    playbook
        .actions
        .iter()
        .map(|step| {
            let due = fired_at.plus_millis(step.delay.millis());
            match &playbook.quiet_hours {
                Some(q) => q.next_allowed(due),
                None => due,
            }
        })
        .collect()
}
