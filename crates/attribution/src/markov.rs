//! The `markov` model: removal effects of an absorbing Markov chain, computed exactly.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::credit::states_on;
use crate::solve::{absorb, Method, SparseRows};
use crate::{Journey, StateId};

/// The Markov model's figures, for reports and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkovResult {
    /// P(conversion) from `start` in the full chain.
    pub conversion_probability: f64,
    /// `RE_c = 1 − P₋c / P` for every channel (state of order 1) seen on any journey; 0 for all
    /// when nothing converts.
    pub removal_effects: BTreeMap<StateId, f64>,
}

/// The Markov chain of `order` built from every journey with at least one touch (converting and
/// not), its conversion probability and each channel's removal effect.
///
/// Journeys with no touches are skipped: they have no channel to walk through (give converting
/// ones their direct touch first, see [`Journey::with_direct_fallback`]). An `order` of 0 is
/// read as 1.
///
/// **The chain.** Transient states are `start` and one state per chain state seen on any journey
/// with at least one touch; absorbing states are `conversion` and `null`. Each journey is one
/// walk `start → s₁ → … → s_m → conversion` (or `→ null` if it did not convert); transition
/// probabilities are the observed transition counts divided by each state's outgoing count.
///
/// **Chain states of order k**, as the `channelattribution` package forms them: the journey's
/// states `c₁ … c_L` are cut into the sliding windows `(c_i, …, c_{i+k−1})`,
/// `i = 1 … L−k+1`; a journey shorter than `k` is one window of all its states (no padding).
/// Consecutive repeats of a chain state then collapse into one (for order 1: consecutive repeats
/// of a channel collapse). Removing a *channel* removes every chain state containing it, and
/// removal effects, like credits, are reported per channel.
///
/// **Removal.** Removing a channel sends every transition into its states to null; with `P` the
/// probability of reaching conversion from `start` and `P₋c` the same with `c` removed,
/// `RE_c = 1 − P₋c / P`. `RE_c` is also the share of converting walks that visit `c`, which is
/// what `channelattribution` estimates by simulation.
///
/// **Values.** SPEC: a conversion's value is the mean value of the conversions that end in the
/// same (chain) state. So the reward for converting from state `s` is `m_s`, the mean value of
/// the converting journeys whose last chain state is `s`, and `V = E[value]` is solved for like
/// `P`. A metric's total is split in proportion to `V − V₋c` (= `RE^value_c × V`), exactly the
/// quantity `channelattribution` estimates for a value column; with equal values (conversions)
/// this is the proportion of `RE_c`.
///
/// **Solving.** Every figure is the exact solution of `(I − Q) x = r` over the transient states:
/// Gaussian elimination with partial pivoting up to 300 states (all of order 1 in practice),
/// Gauss–Seidel on the sparse rows to a residual of 1e-14 (relative to the largest reward) above
/// that, with elimination as the fallback should it not converge. No simulation is involved.
///
/// **Hot loop.** Channels are numbered densely (by an array indexed by state id) and all
/// counting is done on those numbers.
pub fn markov(journeys: &[Journey], order: usize) -> MarkovResult {
    let chain = Chain::build(journeys, order.max(1), None);
    let (p, without) = chain.removal(&chain.conversion_reward, Method::Auto);
    let removal_effects = chain
        .channels
        .iter()
        .zip(&without)
        .map(|(&state, &p_without)| {
            let effect = if p > 0.0 {
                (1.0 - p_without / p).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (state, effect)
        })
        .collect();
    MarkovResult {
        conversion_probability: p,
        removal_effects,
    }
}

/// Splits `total` (the sum of the converting journeys' values) over channels by value removal
/// amounts `V − V₋c`. Callers have checked the inputs: `values.len() == journeys.len()`, every
/// converting journey has a touch and a finite value.
pub(crate) fn markov_credit(
    journeys: &[Journey],
    values: &[f64],
    order: usize,
    total: f64,
) -> Vec<f64> {
    let chain = Chain::build(journeys, order, Some(values));
    let mut shares = vec![0.0; chain.channels.len()];
    if total != 0.0 {
        let (v, without) = chain.removal(&chain.value_reward, Method::Auto);
        let amounts: Vec<f64> = without.iter().map(|w| v - w).collect();
        let sum: f64 = amounts.iter().sum();
        let magnitude: f64 = amounts.iter().map(|a| a.abs()).sum();
        if sum.abs() > 1e-12 * magnitude && sum.is_finite() {
            shares = amounts.iter().map(|a| a / sum * total).collect();
        } else {
            // Only reachable with values of mixed sign whose removal amounts cancel out (to
            // rounding): fall back to the conversion removal effects, so the credit still sums
            // to the total.
            let (p, without) = chain.removal(&chain.conversion_reward, Method::Auto);
            let effects: Vec<f64> = without.iter().map(|w| 1.0 - w / p).collect();
            let sum: f64 = effects.iter().sum();
            if sum > 0.0 {
                shares = effects.iter().map(|e| e / sum * total).collect();
            }
        }
    }
    let mut by_state = vec![0.0; states_on(journeys)];
    for (&state, share) in chain.channels.iter().zip(shares) {
        by_state[state as usize] = share;
    }
    by_state
}

/// FNV-1a: the std SipHash is needlessly slow for millions of short state names.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Up to this many transient states, transitions are counted in a dense matrix.
const DENSE_COUNTS_MAX: usize = 1024;

#[derive(Debug)]
struct Chain {
    /// The state id of each channel, by channel number.
    channels: Vec<StateId>,
    /// Transitions between transient states: 0 is `start`, chain states are 1….
    q: SparseRows,
    /// P(state → conversion).
    conversion_reward: Vec<f64>,
    /// P(state → conversion) × mean value of the conversions from that state.
    value_reward: Vec<f64>,
    /// For each channel, the chain states containing it.
    containing: Vec<Vec<u32>>,
}

impl Chain {
    fn build(journeys: &[Journey], order: usize, values: Option<&[f64]>) -> Chain {
        const UNSEEN: u32 = u32::MAX;
        let mut channel_of_state = vec![UNSEEN; states_on(journeys)];
        let mut channels: Vec<StateId> = Vec::new();
        let mut channel_id = |state: StateId| -> u32 {
            let slot = &mut channel_of_state[state as usize];
            if *slot == UNSEEN {
                channels.push(state);
                *slot = (channels.len() - 1) as u32;
            }
            *slot
        };

        // Pass 1: every journey with touches as its collapsed sequence of chain-state ids.
        let mut window_ids: FnvMap<Vec<u32>, u32> = FnvMap::default();
        let mut windows: Vec<Vec<u32>> = Vec::new(); // by chain state id − 1, order > 1 only
        let mut flat: Vec<u32> = Vec::new();
        let mut paths: Vec<(usize, usize)> = Vec::new(); // (end in `flat`, journey index)
        let mut raw: Vec<u32> = Vec::new();
        for (index, journey) in journeys.iter().enumerate() {
            if journey.touches.is_empty() {
                continue;
            }
            let path_start = flat.len();
            if order == 1 {
                for touch in &journey.touches {
                    let id = channel_id(touch.state) + 1;
                    if flat.len() == path_start || flat[flat.len() - 1] != id {
                        flat.push(id);
                    }
                }
            } else {
                raw.clear();
                raw.extend(journey.touches.iter().map(|t| channel_id(t.state)));
                let count = raw.len().saturating_sub(order) + 1;
                let width = raw.len().min(order);
                for i in 0..count {
                    let window = &raw[i..i + width];
                    let id = match window_ids.get(window) {
                        Some(&id) => id,
                        None => {
                            windows.push(window.to_vec());
                            let id = windows.len() as u32;
                            window_ids.insert(window.to_vec(), id);
                            id
                        }
                    };
                    if flat.len() == path_start || flat[flat.len() - 1] != id {
                        flat.push(id);
                    }
                }
            }
            paths.push((flat.len(), index));
        }

        let containing: Vec<Vec<u32>> = if order == 1 {
            (0..channels.len() as u32).map(|c| vec![c + 1]).collect()
        } else {
            let mut containing = vec![Vec::new(); channels.len()];
            for (i, window) in windows.iter().enumerate() {
                for (k, &c) in window.iter().enumerate() {
                    if !window[..k].contains(&c) {
                        containing[c as usize].push(i as u32 + 1);
                    }
                }
            }
            containing
        };
        let n = if order == 1 {
            channels.len()
        } else {
            windows.len()
        } + 1;

        // Pass 2: transition counts on integer ids.
        let mut conversions = vec![0u64; n];
        let mut nulls = vec![0u64; n];
        let mut value_sums = vec![0.0f64; n];
        let mut counts = Counts::new(n);
        let mut begin = 0;
        for &(end, index) in &paths {
            let mut previous = 0u32;
            for &state in &flat[begin..end] {
                counts.add(previous, state);
                previous = state;
            }
            let last = previous as usize;
            if journeys[index].is_converting() {
                conversions[last] += 1;
                if let Some(values) = values {
                    value_sums[last] += values[index];
                }
            } else {
                nulls[last] += 1;
            }
            begin = end;
        }

        let rows = counts.into_rows(n);
        let mut q = SparseRows {
            row_start: Vec::with_capacity(n + 1),
            cols: Vec::new(),
            probs: Vec::new(),
        };
        q.row_start.push(0);
        let mut conversion_reward = vec![0.0; n];
        let mut value_reward = vec![0.0; n];
        for (i, row) in rows.iter().enumerate() {
            let moves: u64 = row.iter().map(|&(_, c)| c).sum();
            let out = moves + conversions[i] + nulls[i];
            if out > 0 {
                let out = out as f64;
                for &(j, c) in row {
                    q.cols.push(j);
                    q.probs.push(c as f64 / out);
                }
                conversion_reward[i] = conversions[i] as f64 / out;
                // P(i → conversion) × mean value = (conversions / out) × (sum / conversions).
                value_reward[i] = value_sums[i] / out;
            }
            q.row_start.push(q.cols.len());
        }
        Chain {
            channels,
            q,
            conversion_reward,
            value_reward,
            containing,
        }
    }

    /// The reward expected from `start` in the full chain, and with each channel removed.
    fn removal(&self, reward: &[f64], method: Method) -> (f64, Vec<f64>) {
        let n = self.q.len();
        let mut removed = vec![false; n];
        let full = absorb(&self.q, reward, &removed, method)[0];
        let without = self
            .containing
            .iter()
            .map(|states| {
                for &s in states {
                    removed[s as usize] = true;
                }
                let value = absorb(&self.q, reward, &removed, method)[0];
                for &s in states {
                    removed[s as usize] = false;
                }
                value
            })
            .collect();
        (full, without)
    }
}

/// Transition counts: a dense matrix for small chains, a hash map for large ones.
enum Counts {
    Dense { n: usize, cells: Vec<u64> },
    Sparse(FnvMap<u64, u64>),
}

impl Counts {
    fn new(n: usize) -> Counts {
        if n <= DENSE_COUNTS_MAX {
            Counts::Dense {
                n,
                cells: vec![0; n * n],
            }
        } else {
            Counts::Sparse(FnvMap::default())
        }
    }

    fn add(&mut self, from: u32, to: u32) {
        match self {
            Counts::Dense { n, cells } => cells[from as usize * *n + to as usize] += 1,
            Counts::Sparse(map) => {
                *map.entry(u64::from(from) << 32 | u64::from(to))
                    .or_default() += 1;
            }
        }
    }

    /// Each row's `(to, count)` pairs, in increasing `to`.
    fn into_rows(self, n: usize) -> Vec<Vec<(u32, u64)>> {
        let mut rows = vec![Vec::new(); n];
        match self {
            Counts::Dense { n, cells } => {
                for (i, row) in rows.iter_mut().enumerate() {
                    for (j, &c) in cells[i * n..(i + 1) * n].iter().enumerate() {
                        if c > 0 {
                            row.push((j as u32, c));
                        }
                    }
                }
            }
            Counts::Sparse(map) => {
                for (key, c) in map {
                    rows[(key >> 32) as usize].push((key as u32, c));
                }
                for row in &mut rows {
                    row.sort_unstable();
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Touch;

    /// Test state names are single letters or `c<number>`: their id is fixed by the name.
    fn id(name: &str) -> StateId {
        match name.strip_prefix('c') {
            Some(n) => n.parse().expect("c<number>"),
            None => u32::from(name.as_bytes()[0] - b'a'),
        }
    }

    fn journey(states: &[&str], converted: bool) -> Journey {
        Journey {
            touches: states
                .iter()
                .enumerate()
                .map(|(i, s)| Touch {
                    at: i as i64,
                    state: id(s),
                    direct: false,
                })
                .collect(),
            converted_at: converted.then_some(100),
            lead_at: None,
            opportunity_at: None,
        }
    }

    #[test]
    fn order_two_windows_follow_channelattribution() {
        // a a b → windows (a,a), (a,b); b → one short window (b); a b a b → (a,b),(b,a),(a,b).
        let journeys = [
            journey(&["a", "a", "b"], true),
            journey(&["b"], false),
            journey(&["a", "b", "a", "b"], true),
        ];
        let chain = Chain::build(&journeys, 2, None);
        assert_eq!(chain.channels, [id("a"), id("b")]);
        // Chain states by id − 1: (a,a)=1, (a,b)=2, (b)=3, (b,a)=4.
        assert_eq!(chain.q.len(), 5);
        // start → (a,a), (b), (a,b): one each.
        let start: Vec<(u32, f64)> = (chain.q.row_start[0]..chain.q.row_start[1])
            .map(|k| (chain.q.cols[k], chain.q.probs[k]))
            .collect();
        assert_eq!(start, [(1, 1.0 / 3.0), (2, 1.0 / 3.0), (3, 1.0 / 3.0)]);
        // a is in (a,a), (a,b), (b,a); b in (a,b), (b), (b,a).
        assert_eq!(chain.containing, [vec![1, 2, 4], vec![2, 3, 4]]);
        // (a,b) goes: → conversion (1st journey), → (b,a) and → conversion (3rd).
        assert!((chain.conversion_reward[2] - 2.0 / 3.0).abs() < 1e-15);
    }

    /// A seeded LCG, `next(m)` in `0..m`.
    fn lcg(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |m| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % m
        }
    }

    #[test]
    fn sparse_and_dense_counts_agree() {
        let mut next = lcg(99);
        let n = 50;
        let mut dense = Counts::Dense {
            n,
            cells: vec![0; n * n],
        };
        let mut sparse = Counts::Sparse(FnvMap::default());
        for _ in 0..5_000 {
            let (from, to) = (next(n as u64) as u32, next(n as u64) as u32);
            dense.add(from, to);
            sparse.add(from, to);
        }
        assert_eq!(dense.into_rows(n), sparse.into_rows(n));
        assert!(matches!(
            Counts::new(DENSE_COUNTS_MAX + 1),
            Counts::Sparse(_)
        ));
    }

    #[test]
    fn order_two_over_twenty_channels_solves_iteratively_to_the_dense_answer() {
        let mut next = lcg(12_345);
        let names: Vec<String> = (0..20).map(|c| format!("c{c}")).collect();
        let journeys: Vec<Journey> = (0..5_000)
            .map(|_| {
                let len = 1 + next(5) as usize;
                let states: Vec<&str> = (0..len)
                    .map(|_| names[next(20) as usize].as_str())
                    .collect();
                journey(&states, next(3) == 0)
            })
            .collect();
        let chain = Chain::build(&journeys, 2, None);
        assert!(
            chain.q.len() > crate::solve::DENSE_MAX,
            "{} states",
            chain.q.len()
        );
        let n = chain.q.len();
        let reward = &chain.conversion_reward;
        for channel in [None, Some(0), Some(7), Some(19)] {
            let mut removed = vec![false; n];
            for &s in channel.map_or(&[][..], |c| &chain.containing[c]) {
                removed[s as usize] = true;
            }
            let auto = absorb(&chain.q, reward, &removed, Method::Auto)[0];
            let iterative = absorb(&chain.q, reward, &removed, Method::Iterative)[0];
            let dense = absorb(&chain.q, reward, &removed, Method::Dense)[0];
            assert_eq!(auto, iterative);
            assert!((iterative - dense).abs() < 1e-13, "{iterative} vs {dense}");
        }
    }
}
