//! The search: Wing & Gong's depth-first search with Lowe's memoization, one partition at a time,
//! partitions in parallel.
//!
//! The history becomes a doubly linked list of call and return events in time order (on equal
//! times calls come first, so touching operations count as concurrent). The search walks the
//! list: at a call whose operation is legal in the current state it tentatively linearizes the
//! operation (unlinks its call and return) and restarts from the head, unless the pair
//! (set of linearized operations, state) was seen before; at a return it backtracks, since the
//! operation returned before anything pending could be placed. An empty list is a
//! linearization; backtracking from an empty stack means there is none.
//!
//! What makes it fast, compared with a direct transcription:
//! * model states are interned to `u32` ids and every `step` result is memoized per (state, op),
//!   so the model runs once per distinct transition, and a state is never cloned in the loop;
//! * the cache key's hash is maintained incrementally (Zobrist hashing: xor of a random key per
//!   linearized operation, and one per state), so a lookup costs one probe, not a pass over the
//!   bitset;
//! * the cache is an open-addressing table over a flat arena of bitsets: no allocation per entry.
//!
//! The checker is pure computation on OS threads (`std::thread`, `std::time`); it never touches
//! the simulated runtime, which sees it as one long [`crate::world::compute`] call.

// The budget is wall-clock time and partitions run on OS threads: pure computation that must not
// go through the simulated runtime (under which virtual time stands still while we compute).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::cmp::Reverse;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::explain::{self, Report};
use super::hash::{FxHashMap, mix64};
use super::{Model, Operation};

/// The default time budget of a check: generous, because running out is a failure.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

/// Marks an illegal transition in the step memo.
const ILLEGAL: u32 = u32::MAX;

/// How often (in loop iterations) the search looks at the clock and the cancel flag.
const POLL_EVERY: u32 = 1 << 10;

/// Configures and runs linearizability checks.
///
/// ```
/// use labs::porcupine::{Checker, KvInput, KvModel, KvOutput, Operation};
/// use std::time::Duration;
/// let ops = vec![
///     Operation::new(0, KvInput::put("x", "1"), 0, KvOutput::none(), 10).unwrap(),
///     Operation::new(1, KvInput::get("x"), 5, KvOutput::value("1"), 20).unwrap(),
/// ];
/// let report = Checker::new().budget(Duration::from_secs(1)).check(&KvModel, &ops);
/// assert!(report.is_linearizable());
/// ```
#[derive(Debug, Clone)]
pub struct Checker {
    budget: Duration,
    threads: usize,
    describe_always: bool,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

impl Checker {
    /// A checker with [`DEFAULT_BUDGET`] that uses every available core.
    pub fn new() -> Checker {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Checker { budget: DEFAULT_BUDGET, threads, describe_always: false }
    }

    /// Sets the wall-clock time budget; a check that needs longer is
    /// [`CheckResult::Unknown`](super::CheckResult::Unknown).
    pub fn budget(mut self, budget: Duration) -> Checker {
        self.budget = budget;
        self
    }

    /// Sets how many OS threads check partitions in parallel (at least one).
    pub fn threads(mut self, threads: usize) -> Checker {
        self.threads = threads.max(1);
        self
    }

    /// Also describe linearizable histories, so that [`Report::write_visualization`] can draw
    /// them (by default only failed or unknown checks carry the descriptions).
    pub fn describe_always(mut self, yes: bool) -> Checker {
        self.describe_always = yes;
        self
    }

    /// Checks a history against a model.
    ///
    /// The verdict is deterministic unless the budget runs out: when several partitions are not
    /// linearizable, the first one (in the model's partition order) is the one explained.
    pub fn check<M: Model>(&self, model: &M, ops: &[Operation<M::Input, M::Output>]) -> Report {
        crate::world::compute(|| self.run(model, ops))
    }

    fn run<M: Model>(&self, model: &M, ops: &[Operation<M::Input, M::Output>]) -> Report {
        let start = Instant::now();
        let deadline = start.checked_add(self.budget);
        let parts = model.partition(ops);

        // Biggest partitions first, to keep the threads evenly busy.
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by_key(|&p| Reverse(parts[p].ops.len()));
        let next_job = AtomicUsize::new(0);
        // The lowest-numbered partition found not linearizable so far: partitions after it need
        // not be checked, partitions before it must be, so the explanation is deterministic.
        let first_illegal = AtomicUsize::new(usize::MAX);
        let results: Vec<StdMutex<Option<PartResult<M::State>>>> =
            parts.iter().map(|_| StdMutex::new(None)).collect();

        let worker = || {
            loop {
                let job = next_job.fetch_add(1, Ordering::Relaxed);
                let Some(&p) = order.get(job) else { break };
                let stop = || {
                    if first_illegal.load(Ordering::Relaxed) < p {
                        Some(Outcome::Skipped)
                    } else if deadline.is_some_and(|d| Instant::now() >= d) {
                        Some(Outcome::TimedOut)
                    } else {
                        None
                    }
                };
                let res = match stop() {
                    Some(outcome) => PartResult::empty(model, outcome),
                    None => Search::new(model, ops, &parts[p].ops).run(&stop),
                };
                if res.outcome == Outcome::Illegal {
                    first_illegal.fetch_min(p, Ordering::Relaxed);
                }
                *results[p].lock().unwrap_or_else(|e| e.into_inner()) = Some(res);
            }
        };
        let threads = self.threads.min(parts.len()).max(1);
        if threads == 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(&worker);
                }
                worker();
            });
        }

        let results: Vec<PartResult<M::State>> = results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every partition is checked")
            })
            .collect();
        explain::build_report(
            model,
            ops,
            parts,
            results,
            start.elapsed(),
            self.budget,
            self.describe_always,
        )
    }
}

/// Checks `ops` against `model` with a time budget, on all cores: `Checker::new().budget(budget)
/// .check(model, ops)`.
pub fn check<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: Duration,
) -> Report {
    Checker::new().budget(budget).check(model, ops)
}

/// How the search of one partition ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    Illegal,
    TimedOut,
    /// Not (fully) checked because an earlier partition is not linearizable.
    Skipped,
}

/// The result of searching one partition.
pub(crate) struct PartResult<S> {
    pub(crate) outcome: Outcome,
    /// The longest linearizable prefix found, as (local op, state id after it); the whole
    /// linearization when the outcome is `Linearizable`.
    pub(crate) best: Vec<(u32, u32)>,
    /// Interned states by id; id 0 is the initial state.
    pub(crate) states: Vec<S>,
    /// Number of (linearized set, state) pairs explored.
    pub(crate) explored: usize,
}

impl<S> PartResult<S> {
    fn empty<M: Model<State = S>>(model: &M, outcome: Outcome) -> Self {
        PartResult { outcome, best: Vec::new(), states: vec![model.init()], explored: 0 }
    }
}

/// Sorted call and return events of a partition's operations: (time, 0 = call / 1 = return,
/// local op). Calls sort before returns at equal times.
pub(crate) fn sorted_events<I, O>(ops: &[Operation<I, O>], part: &[usize]) -> Vec<(u64, u8, u32)> {
    let mut events = Vec::with_capacity(2 * part.len());
    for (local, &g) in part.iter().enumerate() {
        events.push((ops[g].call, 0u8, local as u32));
        events.push((ops[g].ret, 1u8, local as u32));
    }
    events.sort_unstable();
    events
}

/// The search state of one partition.
struct Search<'a, M: Model> {
    model: &'a M,
    inputs: Vec<&'a M::Input>,
    outputs: Vec<Option<&'a M::Output>>,
    events: Vec<(u64, u8, u32)>,
    states: Vec<M::State>,
    state_ids: FxHashMap<M::State, u32>,
    /// (state << 32 | op) -> next state id or `ILLEGAL`.
    memo: FxHashMap<u64, u32>,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(model: &'a M, ops: &'a [Operation<M::Input, M::Output>], part: &[usize]) -> Self {
        let mut s = Search {
            model,
            inputs: part.iter().map(|&g| &ops[g].input).collect(),
            outputs: part.iter().map(|&g| ops[g].output.as_ref()).collect(),
            events: sorted_events(ops, part),
            states: Vec::new(),
            state_ids: FxHashMap::default(),
            memo: FxHashMap::default(),
        };
        s.intern(model.init());
        s
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.state_ids.get(&state) {
            return id;
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.states.push(state.clone());
        self.state_ids.insert(state, id);
        id
    }

    #[inline]
    fn step(&mut self, state: u32, op: u32) -> u32 {
        let key = (u64::from(state) << 32) | u64::from(op);
        if let Some(&next) = self.memo.get(&key) {
            return next;
        }
        let next = match self.model.step(
            &self.states[state as usize],
            self.inputs[op as usize],
            self.outputs[op as usize],
        ) {
            Some(s) => self.intern(s),
            None => ILLEGAL,
        };
        self.memo.insert(key, next);
        next
    }

    /// Runs the search; `stop` is polled now and then and ends it early with its outcome.
    fn run(mut self, stop: &dyn Fn() -> Option<Outcome>) -> PartResult<M::State> {
        let n = self.inputs.len();
        // Entries: 0 is the head sentinel, 1..=2n the events in order, 2n+1 the tail sentinel.
        const HEAD: u32 = 0;
        let tail = (2 * n + 1) as u32;
        // info[e] = op << 1 | is_return
        let mut info = vec![0u32; 2 * n + 2];
        let mut ret_entry = vec![0u32; n];
        for (i, &(_, kind, op)) in self.events.iter().enumerate() {
            let e = i + 1;
            info[e] = (op << 1) | u32::from(kind);
            if kind == 1 {
                ret_entry[op as usize] = e as u32;
            }
        }
        let mut next: Vec<u32> = (1..=2 * n as u32 + 2).collect();
        let mut prev: Vec<u32> = (0..2 * n as u32 + 2).map(|e| e.wrapping_sub(1)).collect();

        let op_keys: Vec<u64> = (0..n as u64).map(|i| mix64(i + 1)).collect();
        let state_key = |s: u32| mix64(u64::from(s) ^ 0x5bd1_e995_0000_0000);
        let words = n.div_ceil(64).max(1);
        let mut bits = vec![0u64; words];
        let mut cache = Cache::new(words);

        let mut stack: Vec<(u32, u32)> = Vec::with_capacity(n);
        let mut best: Vec<(u32, u32)> = Vec::new();
        // stack[..best_valid] and best[..best_valid] hold the same operations.
        let mut best_valid = 0usize;
        let mut state = 0u32;
        let mut zobrist = 0u64;
        let mut polls = 0u32;

        let outcome = if n == 0 {
            Outcome::Linearizable
        } else {
            let mut e = next[HEAD as usize];
            loop {
                polls = polls.wrapping_add(1);
                if polls % POLL_EVERY == 0
                    && let Some(outcome) = stop()
                {
                    break outcome;
                }
                let inf = info[e as usize];
                let op = inf >> 1;
                if inf & 1 == 0 {
                    // A call: try to linearize its operation now.
                    let ns = self.step(state, op);
                    if ns != ILLEGAL {
                        let (w, b) = ((op >> 6) as usize, 1u64 << (op & 63));
                        bits[w] |= b;
                        let z = zobrist ^ op_keys[op as usize];
                        if cache.insert(z ^ state_key(ns), ns, &bits) {
                            stack.push((e, state));
                            state = ns;
                            zobrist = z;
                            // Unlink the call and its return.
                            let r = ret_entry[op as usize];
                            for x in [e, r] {
                                let (p, nx) = (prev[x as usize], next[x as usize]);
                                next[p as usize] = nx;
                                prev[nx as usize] = p;
                            }
                            if stack.len() > best.len() {
                                best.truncate(best_valid);
                                for i in best_valid..stack.len() {
                                    let after =
                                        if i + 1 < stack.len() { stack[i + 1].1 } else { state };
                                    best.push((info[stack[i].0 as usize] >> 1, after));
                                }
                                best_valid = stack.len();
                            }
                            e = next[HEAD as usize];
                            if e == tail {
                                break Outcome::Linearizable;
                            }
                            continue;
                        }
                        bits[w] &= !b;
                    }
                    e = next[e as usize];
                } else {
                    // A return: its operation cannot wait any longer; backtrack.
                    let Some((ce, st)) = stack.pop() else {
                        break Outcome::Illegal;
                    };
                    best_valid = best_valid.min(stack.len());
                    let op = info[ce as usize] >> 1;
                    bits[(op >> 6) as usize] &= !(1u64 << (op & 63));
                    zobrist ^= op_keys[op as usize];
                    state = st;
                    // Relink in the reverse order of unlinking.
                    let r = ret_entry[op as usize];
                    for x in [r, ce] {
                        let (p, nx) = (prev[x as usize], next[x as usize]);
                        next[p as usize] = x;
                        prev[nx as usize] = x;
                    }
                    e = next[ce as usize];
                }
            }
        };
        PartResult { outcome, best, states: self.states, explored: cache.len }
    }
}

/// The set of explored (linearized set, state) pairs: open addressing over a flat arena.
struct Cache {
    words: usize,
    /// Slots: 0 = empty, else (hash's high 32 bits << 32) | (entry + 1).
    slots: Vec<u64>,
    mask: usize,
    hashes: Vec<u64>,
    states: Vec<u32>,
    arena: Vec<u64>,
    len: usize,
}

impl Cache {
    fn new(words: usize) -> Cache {
        let cap = 1 << 10;
        Cache {
            words,
            slots: vec![0; cap],
            mask: cap - 1,
            hashes: Vec::new(),
            states: Vec::new(),
            arena: Vec::new(),
            len: 0,
        }
    }

    /// Inserts the pair; false if it was already there.
    #[inline]
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        let tag = hash & 0xffff_ffff_0000_0000;
        let mut i = hash as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if slot & 0xffff_ffff_0000_0000 == tag {
                let idx = (slot as u32 - 1) as usize;
                if self.states[idx] == state
                    && self.arena[idx * self.words..(idx + 1) * self.words] == *bits
                {
                    return false;
                }
            }
            i = (i + 1) & self.mask;
        }
        let idx = self.len;
        self.len += 1;
        self.hashes.push(hash);
        self.states.push(state);
        self.arena.extend_from_slice(bits);
        self.slots[i] = tag | (idx as u64 + 1);
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.mask = cap - 1;
        self.slots = vec![0; cap];
        for (idx, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & self.mask;
            while self.slots[i] != 0 {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = (h & 0xffff_ffff_0000_0000) | (idx as u64 + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dedups_and_grows() {
        let mut c = Cache::new(2);
        for i in 0..5000u64 {
            assert!(c.insert(mix64(i), i as u32, &[i, !i]));
        }
        for i in 0..5000u64 {
            assert!(!c.insert(mix64(i), i as u32, &[i, !i]));
            // Same hash, different content: a new entry.
            assert!(c.insert(mix64(i), i as u32, &[i, i]));
        }
        assert_eq!(c.len, 10000);
    }
}
