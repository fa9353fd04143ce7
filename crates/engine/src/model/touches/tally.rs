//! Touchpoints counted, kept as they change: the totals `status` shows, and per value of a touch
//! grouping what the `touchpoints` report shows. Both were a walk over every touchpoint on each
//! request (millions of them); an owner's touchpoints changing now takes its old ones out of
//! the counts and puts its new ones in.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use tenure_core::{Email, Timestamp};

use crate::sessions::{TouchField, Touchpoint, Visitor, NONE};
use crate::text::Text;

/// Every touchpoint counted: how many, how many per channel, and the prospects they are of.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub total: u64,
    pub by_channel: HashMap<Text, u64>,
    /// Each prospect with how many touchpoints are theirs.
    pub prospects: HashMap<Email, u64>,
}

impl Counts {
    pub(super) fn add(&mut self, t: &Touchpoint) {
        self.total += 1;
        match self.by_channel.get_mut(t.channel().as_str()) {
            Some(n) => *n += 1,
            None => {
                self.by_channel.insert(t.channel().clone(), 1);
            }
        }
        if let Some(email) = &t.prospect {
            *self.prospects.entry(email.clone()).or_insert(0) += 1;
        }
    }

    pub(super) fn remove(&mut self, t: &Touchpoint) {
        self.total -= 1;
        if let Some(n) = self.by_channel.get_mut(t.channel().as_str()) {
            *n -= 1;
            if *n == 0 {
                self.by_channel.remove(t.channel().as_str());
            }
        }
        if let Some(email) = &t.prospect {
            if let Some(n) = self.prospects.get_mut(email) {
                *n -= 1;
                if *n == 0 {
                    self.prospects.remove(email);
                }
            }
        }
    }
}

/// The touchpoints of one value of a touch grouping: how many, from how many distinct
/// visitors ([`Touchpoint::visitor`]), first and last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchGroup<'a> {
    pub name: &'a str,
    pub touchpoints: u64,
    pub visitors: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

#[derive(Debug)]
struct Group {
    name: Text,
    touchpoints: u64,
    visitors: u64,
    first: Timestamp,
    /// How many of its touchpoints are at `first`: when the last of them goes, the next
    /// earliest is not known.
    at_first: u64,
    last: Timestamp,
    at_last: u64,
}

/// Every touchpoint counted by its value of one touch grouping.
#[derive(Debug)]
pub(crate) struct Tally {
    field: TouchField,
    /// Each value's number in `groups`.
    numbers: HashMap<Text, u32>,
    /// By number; a group whose touchpoints all went is kept, with none.
    groups: Vec<Group>,
    /// (group, visitor) -> how many of the group's touchpoints are theirs. A visitor is kept
    /// by a 96-bit hash of who they are rather than by their id (which would copy every
    /// visitor's id once more; an entry is 24 bytes): two visitors of one group sharing a hash,
    /// the only way a count could be wrong, has a chance of about n²/2⁹⁷ for n visitors (below
    /// 10⁻¹⁷ for a million); the hash keys are random per tally, so ids cannot be chosen to
    /// collide.
    visitors: HashMap<(u32, u32, u64), u32>,
    hashers: (RandomState, RandomState),
    /// A group lost the last of its touchpoints at its first or last instant while keeping
    /// others: its new first or last is unknown, and the tally must be counted anew.
    lost: bool,
}

impl Tally {
    pub(super) fn new(field: TouchField) -> Tally {
        Tally {
            field,
            numbers: HashMap::new(),
            groups: Vec::new(),
            visitors: HashMap::new(),
            hashers: (RandomState::new(), RandomState::new()),
            lost: false,
        }
    }

    pub(super) fn is_lost(&self) -> bool {
        self.lost
    }

    fn visitor_key(&self, group: u32, visitor: Visitor) -> (u32, u32, u64) {
        let high = self.hashers.0.hash_one(visitor) as u32;
        (group, high, self.hashers.1.hash_one(visitor))
    }

    pub(super) fn add(&mut self, t: &Touchpoint) {
        let at = t.occurred_at;
        let number = match self.field.text(t) {
            Some(text) => self.numbers.get(text.as_str()).copied(),
            None => self.numbers.get(NONE).copied(),
        };
        let number = number.unwrap_or_else(|| {
            let number = u32::try_from(self.groups.len()).expect("fewer than 2^32 groups");
            let name = self
                .field
                .text(t)
                .cloned()
                .unwrap_or_else(|| Text::from(NONE));
            self.numbers.insert(name.clone(), number);
            self.groups.push(Group {
                name,
                touchpoints: 0,
                visitors: 0,
                first: at,
                at_first: 0,
                last: at,
                at_last: 0,
            });
            number
        });
        let key = t.visitor().map(|v| self.visitor_key(number, v));
        let group = &mut self.groups[number as usize];
        if group.touchpoints == 0 {
            (group.first, group.at_first, group.last, group.at_last) = (at, 0, at, 0);
        }
        group.touchpoints += 1;
        if at < group.first {
            (group.first, group.at_first) = (at, 1);
        } else if at == group.first {
            group.at_first += 1;
        }
        if at > group.last {
            (group.last, group.at_last) = (at, 1);
        } else if at == group.last {
            group.at_last += 1;
        }
        if let Some(key) = key {
            let n = self.visitors.entry(key).or_insert(0);
            if *n == 0 {
                group.visitors += 1;
            }
            *n += 1;
        }
    }

    pub(super) fn remove(&mut self, t: &Touchpoint) {
        let name = self.field.value(t);
        let Some(&number) = self.numbers.get(name) else {
            self.lost = true;
            return;
        };
        let key = t.visitor().map(|v| self.visitor_key(number, v));
        let at = t.occurred_at;
        let group = &mut self.groups[number as usize];
        if group.touchpoints == 0 {
            self.lost = true;
            return;
        }
        group.touchpoints -= 1;
        if group.touchpoints > 0 {
            if at == group.first {
                group.at_first -= 1;
                self.lost |= group.at_first == 0;
            }
            if at == group.last {
                group.at_last -= 1;
                self.lost |= group.at_last == 0;
            }
        }
        if let Some(key) = key {
            match self.visitors.get_mut(&key) {
                Some(n) if *n > 1 => *n -= 1,
                Some(_) => {
                    self.visitors.remove(&key);
                    group.visitors -= 1;
                }
                None => self.lost = true,
            }
        }
    }

    /// Every value with touchpoints, in no particular order.
    pub(crate) fn groups(&self) -> impl Iterator<Item = TouchGroup<'_>> {
        self.groups
            .iter()
            .filter(|g| g.touchpoints > 0)
            .map(|g| TouchGroup {
                name: g.name.as_str(),
                touchpoints: g.touchpoints,
                visitors: g.visitors,
                first: g.first,
                last: g.last,
            })
    }
}
