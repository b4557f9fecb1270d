//! The search: Wing & Gong's depth-first search with Lowe's memoization, partitions in rounds
//! on parallel OS threads.
//!
//! A partition's history becomes a doubly linked list of call and return events in time order
//! (on equal times calls come first, so touching operations count as concurrent). At each node
//! of the search, the operations that could be linearized next are the calls before the first
//! return in the list. The search places one (if it is legal in the current state), unlinks its
//! call and return, and goes on from the new node, unless the pair (set of placed operations,
//! state) was seen before; when no operation is left to try it backtracks. An empty list is a
//! linearization; backtracking from the root means there is none.
//!
//! What makes it fast, compared with a direct transcription of Porcupine:
//! * read-only operations (the model says which: reads, failed compare-and-sets) are placed as
//!   soon as they are legal, without trying alternatives, which is safe (see `Mode::Enter`) and
//!   prunes most of the branching in read-heavy histories;
//! * of several candidates with the same input and output (Jepsen's etcd histories write the
//!   same few values over and over, and many of those writes never return), only the one that
//!   returns first is tried (see `Mode::Enter`), which cuts etcd_002's search by two thirds;
//! * model states are interned to `u32` ids, and step results are memoized per (state, op)
//!   while that pays, so a state is never cloned or compared in the loop;
//! * the cache key's hash is maintained incrementally (Zobrist hashing: xor of a random key per
//!   placed operation, and one per state), and the cache is an open-addressing table with the
//!   keys inline: one probe, one place in memory, no allocation per entry;
//! * a placed set is keyed by its few words that are not all placed, not by its whole bitset
//!   (see `Cache`), so a long history linearized nearly in order takes a few bytes per node
//!   instead of `n / 8`.
//!
//! Partitions are searched in rounds of a growing number of steps (see `Checker::run`), so that
//! an easy failing partition is found quickly beside a hard one, and the result is the same
//! whatever the number of threads. The checker is pure computation on OS threads (`std::thread`,
//! `std::time`); it never touches the simulated runtime (the test kit runs it inside
//! `labs::world::compute`, which the simulation's spin watchdog ignores).

// The budget is wall-clock time and partitions run on OS threads: pure computation that must not
// go through the simulated runtime (under which virtual time stands still while we compute).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::any::Any;
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex as StdMutex};
use std::time::{Duration, Instant};

use super::explain::{self, Report};
use rustc_hash::FxHashMap;

use super::{Model, Operation, fx_hash, mix64};

/// The default time budget of a check: generous, because running out is a failure.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

/// Marks an illegal transition in the step memo.
const ILLEGAL: u32 = u32::MAX;

/// The most memory one partition's cache may take. A search that needs more ends like one that
/// ran out of time: the check is `Unknown`, never a pass.
const MAX_CACHE_BYTES: usize = 1 << 30;

/// How often (in loop iterations) the search looks at the clock and the cache's size.
const POLL_EVERY: u32 = 1 << 10;

/// Configures and runs linearizability checks.
///
/// ```
/// use linearizability::{Checker, KvInput, KvModel, KvOutput, Operation};
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
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Checker { budget: DEFAULT_BUDGET, threads, describe_always: false }
    }

    /// Sets the wall-clock time budget; a check that needs longer (or more than 1 GiB of memory
    /// for one partition's search) is [`CheckResult::Unknown`](super::CheckResult::Unknown).
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
    /// Unless the budget runs out, the result (the explanation included) is deterministic: it
    /// does not depend on the number of threads or their timing.
    pub fn check<M: Model>(&self, model: &M, ops: &[Operation<M::Input, M::Output>]) -> Report {
        self.run(model, Cow::Borrowed(ops))
    }

    /// [`Checker::check`] on a history the caller hands over: a failing check keeps it for its
    /// visualisation instead of a copy (a lab's history can hold a hundred thousand operations).
    pub fn check_owned<M: Model>(&self, model: &M, ops: Vec<Operation<M::Input, M::Output>>) -> Report {
        self.run(model, Cow::Owned(ops))
    }

    /// Searches the partitions in rounds: in each round every unfinished partition gets a slice
    /// of the same number of search steps, and the slice doubles from one round to the next. The
    /// first round in which some partition turns out not to be linearizable ends the check, and
    /// the lowest-numbered such partition is the one explained. So an easy failing partition is
    /// found quickly even beside a hard one, and the answer is the same on one thread as on many.
    ///
    /// The calling thread works alone first: most histories are decided in well under a
    /// millisecond, less than it takes to start a thread. Only when the check has run for
    /// [`SEQUENTIAL_FOR`] and a round still has two or more partitions to search are the other
    /// threads started, to share the rest of the rounds.
    fn run<M: Model>(&self, model: &M, history: Cow<'_, [Operation<M::Input, M::Output>]>) -> Report {
        let ops: &[Operation<M::Input, M::Output>] = &history;
        let start = Instant::now();
        let deadline = start.checked_add(self.budget);
        let parts = model.partition(ops);
        let searches: Vec<StdMutex<Option<Search<'_, M>>>> =
            parts.iter().map(|_| StdMutex::new(None)).collect();
        // Partitions in their own order in each round: once one is found not linearizable, the
        // later ones in that round can be skipped (see `run_job`), and the earlier ones have
        // mostly been searched already.
        let order: Vec<usize> = (0..parts.len()).collect();
        let stop = || deadline.is_some_and(|d| Instant::now() >= d);

        let plan = StdMutex::new(Plan {
            round: order.clone(),
            slice: FIRST_SLICE,
            outcomes: vec![None; parts.len()],
            done: parts.is_empty(),
        });
        let next_job = AtomicUsize::new(0);
        // The lowest partition found not linearizable in this round (`usize::MAX`: none yet).
        let first_illegal = AtomicUsize::new(usize::MAX);
        let panicked: StdMutex<Option<Box<dyn Any + Send>>> = StdMutex::new(None);
        let lock_plan = || plan.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Searches partition `p` for one slice. A panic (in the model, say) must not leave other
        // workers waiting at the barrier: keep it, end the check, and re-raise it afterwards.
        // A partition after one already found not linearizable in this round is skipped: the
        // round ends the check, and only the first such partition is explained.
        let run_job = |p: usize, slice: u64| {
            if p > first_illegal.load(Ordering::Relaxed) {
                return;
            }
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let mut slot = searches[p].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let search = slot.get_or_insert_with(|| Search::new(model, ops, &parts[p].ops));
                search.run(slice, &stop);
                if search.outcome == Some(Outcome::Illegal) {
                    first_illegal.fetch_min(p, Ordering::Relaxed);
                }
            }));
            if let Err(payload) = run {
                panicked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(payload);
            }
        };
        // Plans the next round once every job of this one is done.
        let end_round = |round: &[usize]| {
            let mut plan = lock_plan();
            for &p in round {
                let slot = searches[p].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                plan.outcomes[p] = slot.as_ref().and_then(|s| s.outcome);
            }
            plan.next_round(&order);
            if panicked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some() {
                plan.done = true;
            }
            next_job.store(0, Ordering::Relaxed);
            first_illegal.store(usize::MAX, Ordering::Relaxed);
        };

        // Alone, until the check turns out to be big enough to share.
        let parallel_from = start + SEQUENTIAL_FOR;
        'alone: loop {
            let (round, slice) = {
                let plan = lock_plan();
                if plan.done {
                    break 'alone;
                }
                (plan.round.clone(), plan.slice)
            };
            loop {
                let at = next_job.load(Ordering::Relaxed);
                let Some(&p) = round.get(at) else { break };
                if self.threads > 1 && round.len() - at >= 2 && Instant::now() >= parallel_from {
                    break 'alone;
                }
                next_job.store(at + 1, Ordering::Relaxed);
                run_job(p, slice);
            }
            end_round(&round);
        }

        // Together: the workers meet at a barrier between rounds, where one of them plans the
        // next round. They start in the middle of the round the calling thread was in.
        let (done, remaining) = {
            let plan = lock_plan();
            (plan.done, plan.round.len())
        };
        if !done {
            let threads = self.threads.min(remaining).max(1);
            let barrier = Barrier::new(threads);
            let worker = || {
                loop {
                    let (round, slice) = {
                        let plan = lock_plan();
                        if plan.done {
                            break;
                        }
                        (plan.round.clone(), plan.slice)
                    };
                    while let Some(&p) = round.get(next_job.fetch_add(1, Ordering::Relaxed)) {
                        run_job(p, slice);
                    }
                    if barrier.wait().is_leader() {
                        end_round(&round);
                    }
                    barrier.wait();
                }
            };
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(worker);
                }
                worker();
            });
        }
        if let Some(payload) = panicked.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
            std::panic::resume_unwind(payload);
        }
        let outcomes = plan.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).outcomes;

        let results: Vec<PartResult<M::State>> = searches
            .into_iter()
            .zip(&outcomes)
            .map(|(slot, &outcome)| {
                let outcome = outcome.unwrap_or(Outcome::Skipped);
                match slot.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
                    Some(s) => s.into_result(outcome),
                    None => PartResult::empty(model, outcome),
                }
            })
            .collect();
        let elapsed = start.elapsed();
        explain::build_report(model, history, parts, results, elapsed, self.budget, self.describe_always)
    }
}

/// How long a check runs on the calling thread alone before it starts the others (see
/// `Checker::run`): long enough that starting them costs little beside the work, short enough
/// that a big check loses little of its parallel speed.
const SEQUENTIAL_FOR: Duration = Duration::from_millis(1);

/// Checks `ops` against `model` with a time budget, on all cores: `Checker::new().budget(budget)
/// .check(model, ops)`.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], budget: Duration) -> Report {
    Checker::new().budget(budget).check(model, ops)
}

/// The rounds of a check (see `Checker::run`).
struct Plan {
    /// Partitions to search in this round.
    round: Vec<usize>,
    /// Search steps per partition in this round.
    slice: u64,
    /// Each partition's outcome, once known.
    outcomes: Vec<Option<Outcome>>,
    done: bool,
}

impl Plan {
    /// Decides what follows a round: the end of the check if some partition is not
    /// linearizable (the rest are skipped), if the budget ran out, or if all are done;
    /// otherwise the next round, with twice the slice.
    fn next_round(&mut self, order: &[usize]) {
        let first_illegal =
            self.round.iter().copied().filter(|&p| self.outcomes[p] == Some(Outcome::Illegal)).min();
        let ended = if let Some(first) = first_illegal {
            // The partitions after it in this round may or may not have been searched (see
            // `run_job`): whatever they got to, they count as skipped, the same on every run.
            for &p in self.round.iter().filter(|&&p| p > first) {
                self.outcomes[p] = Some(Outcome::Skipped);
            }
            Some(Outcome::Skipped)
        } else if self.round.iter().any(|&p| self.outcomes[p] == Some(Outcome::TimedOut)) {
            Some(Outcome::TimedOut)
        } else {
            None
        };
        if let Some(rest) = ended {
            for o in self.outcomes.iter_mut().filter(|o| o.is_none()) {
                *o = Some(rest);
            }
        }
        self.round = order.iter().copied().filter(|&p| self.outcomes[p].is_none()).collect();
        self.slice = self.slice.saturating_mul(2);
        self.done = self.round.is_empty();
    }
}

/// How often (in memo lookups) the step memo checks that it pays for itself.
const MEMO_REVIEW: u64 = 1 << 12;

/// Search steps in a partition's first slice (see `Checker::run`).
const FIRST_SLICE: u64 = 1 << 14;

/// How a partition's search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    Illegal,
    TimedOut,
    /// Not (fully) checked because another partition is not linearizable.
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
    // One sort of packed integers (time, kind, op): calls (kind 0) come before returns at equal
    // times, and a recorded history is nearly in order already, which the sort notices.
    let mut keys: Vec<u128> = Vec::with_capacity(2 * part.len());
    for (local, &g) in part.iter().enumerate() {
        keys.push((u128::from(ops[g].call) << 64) | local as u128);
        keys.push((u128::from(ops[g].ret) << 64) | (1 << 32) | local as u128);
    }
    keys.sort_unstable();
    keys.into_iter().map(|k| ((k >> 64) as u64, (k >> 32) as u8 & 1, k as u32)).collect()
}

/// The list's head sentinel; entries 1..=2n are the events in order, 2n+1 is the tail sentinel.
const HEAD: u32 = 0;

/// Where the search loop is.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Just reached a new node: list the operations that could go next.
    Enter,
    /// Try the next operation of the current node.
    Try,
    /// The current node is dead: undo the placement that led to it.
    Backtrack,
}

/// One placed operation on the search stack.
#[derive(Debug, Clone, Copy)]
struct Placed {
    /// Its call entry.
    entry: u32,
    /// The state before it.
    before: u32,
}

/// The operations that could go next at a node on the search path: `cands[start..end]`, of
/// which those before `next` have been tried.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: u32,
    end: u32,
    next: u32,
}

/// The (resumable) search of one partition.
struct Search<'a, M: Model> {
    model: &'a M,
    inputs: Vec<&'a M::Input>,
    outputs: Vec<Option<&'a M::Output>>,
    read_only: Vec<bool>,
    /// class[op]: operations with the same input and output share a class (see `Mode::Enter`).
    class: Vec<u32>,
    /// Per class: the node (`enters`) at which it last got a candidate, and where in `cands`.
    class_node: Vec<u64>,
    class_cand: Vec<u32>,
    /// Nodes entered so far, numbering them for `class_node`.
    enters: u64,
    /// Interned states by id, with their hashes, and an open-addressing table of ids (id + 1,
    /// 0 when empty) to find them: each state is stored once, not as a map key and again by id.
    states: Vec<M::State>,
    state_hashes: Vec<u64>,
    state_table: Vec<u32>,
    /// (state << 32 | op) -> next state id or `ILLEGAL`, while `memo_on`.
    memo: FxHashMap<u64, u32>,
    memo_on: bool,
    memo_calls: u64,
    memo_hits: u64,

    /// info[e] = op << 1 | is_return.
    info: Vec<u32>,
    ret_entry: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    tail: u32,
    op_keys: Vec<u64>,
    bits: Vec<u64>,
    cache: Cache,

    stack: Vec<Placed>,
    /// One frame per node on the path (one more than `stack`).
    frames: Vec<Frame>,
    /// The frames' candidate call entries.
    cands: Vec<u32>,
    best: Vec<(u32, u32)>,
    /// stack[..best_valid] and best[..best_valid] hold the same operations.
    best_valid: usize,
    state: u32,
    zobrist: u64,
    mode: Mode,
    outcome: Option<Outcome>,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(model: &'a M, ops: &'a [Operation<M::Input, M::Output>], part: &[usize]) -> Self {
        let n = part.len();
        let events = sorted_events(ops, part);
        let mut info = vec![0u32; 2 * n + 2];
        let mut ret_entry = vec![0u32; n];
        for (i, &(_, kind, op)) in events.iter().enumerate() {
            let e = i + 1;
            info[e] = (op << 1) | u32::from(kind);
            if kind == 1 {
                ret_entry[op as usize] = e as u32;
            }
        }
        let words = n.div_ceil(64).max(1);
        let mut classes: FxHashMap<(&M::Input, Option<&M::Output>), u32> =
            FxHashMap::with_capacity_and_hasher(n, Default::default());
        let class: Vec<u32> = part
            .iter()
            .map(|&g| {
                let next = classes.len() as u32;
                *classes.entry((&ops[g].input, ops[g].output.as_ref())).or_insert(next)
            })
            .collect();
        let n_classes = classes.len();
        let mut s = Search {
            model,
            inputs: part.iter().map(|&g| &ops[g].input).collect(),
            outputs: part.iter().map(|&g| ops[g].output.as_ref()).collect(),
            read_only: part
                .iter()
                .map(|&g| model.is_read_only(&ops[g].input, ops[g].output.as_ref()))
                .collect(),
            class,
            class_node: vec![u64::MAX; n_classes],
            class_cand: vec![0; n_classes],
            enters: 0,
            states: Vec::with_capacity(n + 1),
            state_hashes: Vec::with_capacity(n + 1),
            state_table: vec![0; (2 * n + 2).next_power_of_two()],
            memo: FxHashMap::with_capacity_and_hasher(2 * n, Default::default()),
            memo_on: true,
            memo_calls: 0,
            memo_hits: 0,
            info,
            ret_entry,
            next: (1..=2 * n as u32 + 2).collect(),
            prev: (0..2 * n as u32 + 2).map(|e| e.wrapping_sub(1)).collect(),
            tail: (2 * n + 1) as u32,
            op_keys: (0..n as u64).map(|i| mix64(i + 1)).collect(),
            bits: vec![0; words],
            cache: Cache::new(words, n),
            stack: Vec::with_capacity(n),
            frames: Vec::with_capacity(n + 1),
            cands: Vec::with_capacity(2 * n),
            best: Vec::with_capacity(n),
            best_valid: 0,
            state: 0,
            zobrist: 0,
            mode: Mode::Enter,
            outcome: (n == 0).then_some(Outcome::Linearizable),
        };
        s.intern(model.init());
        s
    }

    fn into_result(self, outcome: Outcome) -> PartResult<M::State> {
        PartResult { outcome, best: self.best, states: self.states, explored: self.cache.len() }
    }

    fn intern(&mut self, state: M::State) -> u32 {
        let hash = fx_hash(&state);
        let mask = self.state_table.len() - 1;
        let mut i = mix64(hash) as usize & mask;
        loop {
            let slot = self.state_table[i];
            if slot == 0 {
                break;
            }
            let id = slot as usize - 1;
            if self.state_hashes[id] == hash && self.states[id] == state {
                return slot - 1;
            }
            i = (i + 1) & mask;
        }
        let id = u32::try_from(self.states.len())
            .ok()
            .filter(|&id| id < u32::MAX - 1)
            .expect("fewer than 2^32 - 1 states");
        self.states.push(state);
        self.state_hashes.push(hash);
        self.state_table[i] = id + 1;
        if self.states.len() * 2 > self.state_table.len() {
            let mut table = vec![0u32; self.state_table.len() * 2];
            let mask = table.len() - 1;
            for (id, &hash) in self.state_hashes.iter().enumerate() {
                let mut i = mix64(hash) as usize & mask;
                while table[i] != 0 {
                    i = (i + 1) & mask;
                }
                table[i] = id as u32 + 1;
            }
            self.state_table = table;
        }
        id
    }

    /// The state after `op` in `state`, or `ILLEGAL`.
    ///
    /// Results are memoized while that pays: when the same (state, op) pairs come back (a model
    /// with few states), a lookup is cheaper than a step. When nearly every pair is new (a KV
    /// value grows with every append), the memo only costs, and it is switched off.
    #[inline]
    fn step(&mut self, state: u32, op: u32) -> u32 {
        let key = (u64::from(state) << 32) | u64::from(op);
        if self.memo_on {
            self.memo_calls += 1;
            if let Some(&next) = self.memo.get(&key) {
                self.memo_hits += 1;
                return next;
            }
            if self.memo_calls.is_multiple_of(MEMO_REVIEW) && self.memo_hits * 2 < self.memo_calls {
                self.memo_on = false;
                self.memo = FxHashMap::default();
            }
        }
        let next = match self.model.step(
            &self.states[state as usize],
            self.inputs[op as usize],
            self.outputs[op as usize],
        ) {
            // A read-only operation leaves the state as it is: no need to intern it again.
            Some(_) if self.read_only[op as usize] => state,
            Some(s) => self.intern(s),
            None => ILLEGAL,
        };
        if self.memo_on {
            self.memo.insert(key, next);
        }
        next
    }

    /// Places the operation of call entry `e`, reaching state `ns`, unless that node was seen
    /// before. Returns whether it was placed.
    #[inline]
    fn place(&mut self, e: u32, ns: u32) -> bool {
        let op = self.info[e as usize] >> 1;
        let (w, b) = ((op >> 6) as usize, 1u64 << (op & 63));
        self.bits[w] |= b;
        let z = self.zobrist ^ self.op_keys[op as usize];
        let h = z ^ mix64(u64::from(ns) ^ 0x5bd1_e995_0000_0000);
        if !self.cache.insert(h, ns, &self.bits) {
            self.bits[w] &= !b;
            return false;
        }
        self.stack.push(Placed { entry: e, before: self.state });
        self.state = ns;
        self.zobrist = z;
        // Unlink the call and its return.
        for x in [e, self.ret_entry[op as usize]] {
            let (p, nx) = (self.prev[x as usize], self.next[x as usize]);
            self.next[p as usize] = nx;
            self.prev[nx as usize] = p;
        }
        if self.stack.len() > self.best.len() {
            self.best.truncate(self.best_valid);
            for i in self.best_valid..self.stack.len() {
                let after = self.stack.get(i + 1).map_or(self.state, |p| p.before);
                self.best.push((self.info[self.stack[i].entry as usize] >> 1, after));
            }
            self.best_valid = self.stack.len();
        }
        true
    }

    /// Undoes the last placement; `None` if there is none.
    #[inline]
    fn unplace(&mut self) -> Option<Placed> {
        let placed = self.stack.pop()?;
        self.best_valid = self.best_valid.min(self.stack.len());
        let e = placed.entry;
        let op = self.info[e as usize] >> 1;
        self.bits[(op >> 6) as usize] &= !(1u64 << (op & 63));
        self.zobrist ^= self.op_keys[op as usize];
        self.state = placed.before;
        // Relink in the reverse order of unlinking.
        for x in [self.ret_entry[op as usize], e] {
            let (p, nx) = (self.prev[x as usize], self.next[x as usize]);
            self.next[p as usize] = x;
            self.prev[nx as usize] = x;
        }
        Some(placed)
    }

    /// Runs about `steps` steps of the search, or until `deadline_passed` says so; sets
    /// `self.outcome` when the search is over.
    fn run(&mut self, steps: u64, deadline_passed: &dyn Fn() -> bool) {
        let mut left = steps;
        let mut polls = 0u32;
        while self.outcome.is_none() {
            if left == 0 {
                return;
            }
            left -= 1;
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(POLL_EVERY) && (deadline_passed() || self.cache.overflowed()) {
                self.outcome = Some(Outcome::TimedOut);
                return;
            }
            match self.mode {
                Mode::Enter => {
                    // The operations that could go next: calls before the first return.
                    let start = self.cands.len();
                    let mut x = self.next[HEAD as usize];
                    let mut forced = None;
                    self.enters += 1;
                    while self.info[x as usize] & 1 == 0 {
                        let op = self.info[x as usize] >> 1;
                        if self.read_only[op as usize] {
                            // A legal read-only operation can go next without loss of
                            // generality: moving it to the front of any linearization from
                            // here keeps it one. So it is the only one to try.
                            if forced.is_none() {
                                left = left.saturating_sub(1);
                                if self.step(self.state, op) != ILLEGAL {
                                    forced = Some(x);
                                }
                            }
                        } else {
                            // Of the candidates with the same input and output, only the one
                            // that returns first is tried: from any linearization that places
                            // another one here, swapping the two gives one that places the
                            // first here (it is as legal, and the other one's place comes
                            // before the first's return, so before its own).
                            let c = self.class[op as usize] as usize;
                            if self.class_node[c] == self.enters {
                                let at = self.class_cand[c] as usize;
                                let other = self.info[self.cands[at] as usize] >> 1;
                                if self.ret_entry[op as usize] < self.ret_entry[other as usize] {
                                    self.cands[at] = x;
                                }
                            } else {
                                self.class_node[c] = self.enters;
                                self.class_cand[c] = self.cands.len() as u32;
                                self.cands.push(x);
                            }
                        }
                        x = self.next[x as usize];
                    }
                    if let Some(x) = forced {
                        self.cands.truncate(start);
                        self.cands.push(x);
                    }
                    let (start, end) = (start as u32, self.cands.len() as u32);
                    self.frames.push(Frame { start, end, next: start });
                    self.mode = Mode::Try;
                }
                Mode::Try => {
                    let f = self.frames.last_mut().expect("a frame per node");
                    if f.next == f.end {
                        self.mode = Mode::Backtrack;
                        continue;
                    }
                    let e = self.cands[f.next as usize];
                    f.next += 1;
                    let ns = self.step(self.state, self.info[e as usize] >> 1);
                    if ns != ILLEGAL && self.place(e, ns) {
                        self.mode = self.entered();
                    }
                }
                Mode::Backtrack => {
                    let f = self.frames.pop().expect("a frame per node");
                    self.cands.truncate(f.start as usize);
                    if self.unplace().is_none() {
                        self.outcome = Some(Outcome::Illegal);
                    }
                    self.mode = Mode::Try;
                }
            }
        }
    }

    /// The mode after placing an operation: done if nothing is left.
    fn entered(&mut self) -> Mode {
        if self.next[HEAD as usize] == self.tail {
            self.outcome = Some(Outcome::Linearizable);
        }
        Mode::Enter
    }
}

/// Most words of a placed set, below its last placed operation, that are not all placed, for
/// the set to go into [`Cache`]'s narrow table.
const HOLES: usize = 6;
/// Words of a narrow key: the end, then an (index, word) pair per such word.
const NARROW: usize = 1 + 2 * HOLES;

/// The set of explored (linearized set, state) pairs.
///
/// A bitset of the placed operations is `n / 64` words, and a search stores one per node it
/// enters: a history of 80 000 operations that is linearized nearly in order would take 80 000
/// sets of 10 KB (the cause of a 2 GB check). But such a set is nearly always a prefix of the
/// operations (in history order) with a few holes near its end (operations not yet placed, or a
/// long one that is placed late), so it is stored as its end (the word after its last placed
/// operation) and the few words below that are not all ones, with their indices, when there are
/// at most [`HOLES`] of them (the narrow table); a set that does not fit is stored whole (the
/// wide table). Each set has one form, so the key is exact either way.
struct Cache {
    /// Words of a whole bitset.
    words: usize,
    narrow: Table,
    /// Made on the first set that does not fit a narrow key.
    wide: Option<Table>,
    /// The narrow key being built.
    key: [u64; NARROW],
}

impl Cache {
    /// A cache for bitsets of `words` words, sized for a partition of `ops` operations.
    fn new(words: usize, ops: usize) -> Cache {
        let narrow = Table::new(words.min(NARROW), ops);
        Cache { words, narrow, wide: None, key: [0; NARROW] }
    }

    /// Entries stored.
    fn len(&self) -> usize {
        self.narrow.len + self.wide.as_ref().map_or(0, |w| w.len)
    }

    /// Whether the tables reached [`MAX_CACHE_BYTES`]: the search must stop.
    fn overflowed(&self) -> bool {
        self.narrow.overflowed || self.wide.as_ref().is_some_and(|w| w.overflowed)
    }

    /// Inserts the pair; false if it was already there.
    #[inline]
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        if self.words <= NARROW {
            // Short bitsets are their own keys (and there is no wide table).
            return self.narrow.insert(hash, state, bits, 0);
        }
        self.insert_long(hash, state, bits)
    }

    /// [`Cache::insert`] for bitsets longer than a narrow key.
    #[inline(never)]
    fn insert_long(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        let wide_bytes = self.wide.as_ref().map_or(0, |w| w.table.len() * 8);
        if self.narrow_key(bits) {
            return self.narrow.insert(hash, state, &self.key, wide_bytes);
        }
        let narrow_bytes = self.narrow.table.len() * 8;
        let words = self.words;
        self.wide.get_or_insert_with(|| Table::new(words, 1)).insert(hash, state, bits, narrow_bytes)
    }

    /// Builds `bits`' narrow key in `self.key`, if it has one. Unused pairs hold the index
    /// `u64::MAX`, which no word has.
    fn narrow_key(&mut self, bits: &[u64]) -> bool {
        let end = bits.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        self.key.fill(0);
        self.key[0] = end as u64;
        let mut holes = 0;
        for (i, &w) in bits[..end].iter().enumerate() {
            if w != u64::MAX {
                if holes == HOLES {
                    return false;
                }
                self.key[1 + 2 * holes] = i as u64;
                self.key[2 + 2 * holes] = w;
                holes += 1;
            }
        }
        for h in holes..HOLES {
            self.key[1 + 2 * h] = u64::MAX;
        }
        true
    }
}

/// An open-addressing table with linear probing of (key, state) pairs over one flat array, each
/// slot holding a header word and the key inline, so that a lookup touches one place in memory.
struct Table {
    words: usize,
    /// Slots of `words + 1` words: header = (hash's high 32 bits << 32) | (state + 1), 0 when
    /// empty; then the key.
    table: Vec<u64>,
    /// log2 of the number of slots.
    shift: u32,
    len: usize,
    /// The table is 3/4 full at [`MAX_CACHE_BYTES`]: the search must stop.
    overflowed: bool,
}

impl Table {
    /// A table for keys of `words` words, sized for a partition of `ops` operations (which
    /// usually explores at least a few nodes per operation).
    fn new(words: usize, ops: usize) -> Table {
        let shift = (ops * 8).next_power_of_two().trailing_zeros().clamp(5, 16);
        Table { words, table: zeroed((words + 1) << shift), shift, len: 0, overflowed: false }
    }

    #[inline]
    fn slot_of(&self, header: u64) -> usize {
        // The slot index comes from the high bits of the hash, which the header keeps, so the
        // table can grow without the full hashes.
        (header >> (64 - self.shift)) as usize
    }

    /// Inserts the pair; false if it was already there. `other_bytes`: what the cache's other
    /// table takes, counted against [`MAX_CACHE_BYTES`].
    #[inline]
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64], other_bytes: usize) -> bool {
        let header = (hash & 0xffff_ffff_0000_0000) | (u64::from(state) + 1);
        let stride = self.words + 1;
        let mask = (1usize << self.shift) - 1;
        let mut i = self.slot_of(header);
        loop {
            let base = i * stride;
            let h = self.table[base];
            if h == 0 {
                break;
            }
            if h == header && self.table[base + 1..base + stride].iter().zip(bits).all(|(a, b)| a == b) {
                return false;
            }
            i = (i + 1) & mask;
        }
        let base = i * stride;
        self.table[base] = header;
        for (slot, &b) in self.table[base + 1..base + stride].iter_mut().zip(bits) {
            *slot = b;
        }
        self.len += 1;
        // Grow at 3/4 full, up to the cap (the search stops soon after reaching it, long before
        // the table could fill up).
        if self.len * 4 > 3 << self.shift {
            if self.table.len() * 8 + other_bytes < MAX_CACHE_BYTES {
                self.grow();
            } else {
                self.overflowed = true;
            }
        }
        true
    }

    fn grow(&mut self) {
        let stride = self.words + 1;
        let old = std::mem::replace(&mut self.table, zeroed(stride << (self.shift + 1)));
        self.shift += 1;
        let mask = (1usize << self.shift) - 1;
        for slot in old.chunks_exact(stride) {
            if slot[0] == 0 {
                continue;
            }
            let mut i = self.slot_of(slot[0]);
            while self.table[i * stride] != 0 {
                i = (i + 1) & mask;
            }
            for (to, &from) in self.table[i * stride..(i + 1) * stride].iter_mut().zip(slot) {
                *to = from;
            }
        }
    }
}

/// A zeroed vector, written rather than left to the allocator's lazily zeroed pages: the table
/// is read before it is written, and a page that is first read and then written faults twice.
#[allow(clippy::slow_vector_initialization)] // deliberately written, see above
fn zeroed(len: usize) -> Vec<u64> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, 0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dedups_and_grows() {
        let mut c = Cache::new(2, 1);
        for i in 0..5000u64 {
            assert!(c.insert(mix64(i), i as u32, &[i, !i]));
        }
        for i in 0..5000u64 {
            assert!(!c.insert(mix64(i), i as u32, &[i, !i]), "{i}");
            // Same hash, different content: a new entry.
            assert!(c.insert(mix64(i), i as u32, &[i, i]));
        }
        assert_eq!(c.len(), 10000);
    }

    /// Sets of a long history go to the narrow table when they are a prefix with a few holes
    /// and to the wide one otherwise; either way a set is found again, and two sets that differ
    /// in one operation are two entries.
    #[test]
    fn cache_keys_long_sets_exactly_narrow_or_wide() {
        let words = 40;
        let mut c = Cache::new(words, 64 * words);
        let set = |k: usize, extra: &[usize], missing: &[usize]| {
            let mut b = vec![0u64; words];
            for i in (0..k).chain(extra.iter().copied()) {
                b[i / 64] |= 1 << (i % 64);
            }
            for &i in missing {
                b[i / 64] &= !(1 << (i % 64));
            }
            b
        };
        let sets = [
            set(0, &[], &[]),
            set(0, &[3], &[]),
            set(0, &[0], &[]),
            set(64, &[], &[]),
            set(100, &[], &[]),
            set(100, &[130, 300], &[]),
            set(128, &[], &[]),
            set(128, &[129], &[]),
            set(2000, &[2010], &[5]),
            set(2000, &[2010], &[6]),
            set(64 * words, &[], &[]),
            set(64 * words, &[], &[64 * words - 1]),
            // Too many words with holes: whole.
            set(100, &[2000], &[]),
            set(100, &[2001], &[]),
            set(0, &[64 * words - 1], &[]),
        ];
        for (i, b) in sets.iter().enumerate() {
            assert!(c.insert(7, 1, b), "set {i} is new");
            assert!(c.insert(7, 2, b), "set {i} in another state is new");
        }
        for (i, b) in sets.iter().enumerate() {
            assert!(!c.insert(7, 1, b), "set {i} was seen");
            assert!(!c.insert(7, 2, b), "set {i} in state 2 was seen");
        }
        assert_eq!(c.len(), 2 * sets.len());
        assert_eq!(c.wide.as_ref().map(|w| w.len), Some(6), "three sets, in two states each, are wide");
    }
}
