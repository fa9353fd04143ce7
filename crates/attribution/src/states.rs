use std::collections::{BTreeMap, HashMap};

use crate::StateId;

/// The names of the states journeys are built from, numbered in the order first seen.
///
/// Why ids: a report credits millions of touches, and comparing or hashing a channel name per
/// touch was most of its time; the models work on [`StateId`]s and the caller keeps the names.
#[derive(Debug, Clone, Default)]
pub struct States {
    names: Vec<String>,
    ids: HashMap<String, StateId>,
}

impl States {
    pub fn new() -> States {
        States::default()
    }

    /// The id of `name`, numbering it if it is new.
    pub fn intern(&mut self, name: &str) -> StateId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = StateId::try_from(self.names.len()).expect("fewer than 2^32 states");
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// The id of `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<StateId> {
        self.ids.get(name).copied()
    }

    /// The name of state `id`.
    ///
    /// # Panics
    ///
    /// If `id` was not given out by this table.
    pub fn name(&self, id: StateId) -> &str {
        &self.names[id as usize]
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Per-state figures indexed by id (as [`crate::credit()`] returns them) keyed by name;
    /// ids past the end of `by_id` get 0.
    pub fn named(&self, by_id: &[f64]) -> BTreeMap<String, f64> {
        self.names
            .iter()
            .enumerate()
            .map(|(id, name)| (name.clone(), by_id.get(id).copied().unwrap_or(0.0)))
            .collect()
    }
}
