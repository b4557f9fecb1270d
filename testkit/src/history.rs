//! Recording the history of client operations in a running test, for the linearizability
//! checker (the `linearizability` crate).
//!
//! Clerks (or the tester's wrappers around them) call [`History::begin`] before sending a
//! request and [`History::finish`] when the answer is in. An operation that is never finished
//! (its clerk was killed, or the test ended while it was still retrying) has an unknown outcome:
//! the checker lets it take effect at any point after its call, or never.
//!
//! Times come from [`labs::time`] (virtual under simulation). Under simulation many events
//! happen at the same virtual instant, and the checker must treat equal times as concurrent, which
//! would hide real orderings. So the recorder makes its timestamps strictly increasing in the order
//! it records them (a tie is nudged forward by one nanosecond): an operation that finished before
//! another one began, as seen by the recorder, is always ordered before it.
//!
//! ```
//! use testkit::history::History;
//! use linearizability::{KvInput, KvModel, KvOutput};
//! use std::time::Duration;
//!
//! let history: History<KvInput, KvOutput> = History::new();
//! let op = history.begin(0, KvInput::put("x", "1")); // client 0 calls put
//! op.finish(KvOutput::none()); // ... and it returns
//! let op = history.begin(1, KvInput::get("x"));
//! op.finish(KvOutput::value("1"));
//! let report = history.check(&KvModel, Duration::from_secs(10));
//! // In a suite: fail with the verdict, its explanation and the path of the HTML drawing.
//! if let Err(msg) = report.require_linearizable() {
//!     panic!("{msg}");
//! }
//! ```

use std::sync::Arc;
use std::time::Duration;

use labs::sync::Mutex;
use labs::time::Instant;
use linearizability::{Model, Operation, Report};

pub use linearizability::HistoryError;

/// One recorded operation; `outcome` is `None` while it is in flight (or unknown for good).
struct Entry<I, O> {
    client: usize,
    input: I,
    call: u64,
    outcome: Option<(Option<O>, u64)>,
}

struct Inner<I, O> {
    entries: Vec<Entry<I, O>>,
    /// The last timestamp handed out by `stamp`.
    last: u64,
}

impl<I, O> Inner<I, O> {
    /// `now` as a timestamp strictly after every one handed out before. (The clock is read
    /// before taking the lock: under simulation reading it is a scheduling point.)
    fn stamp(&mut self, now: Instant) -> u64 {
        let t = now.as_nanos().max(self.last.saturating_add(1));
        self.last = t;
        t
    }
}

/// A thread-safe recorder of client operations. Clones share the same history.
pub struct History<I, O> {
    inner: Arc<Mutex<Inner<I, O>>>,
}

impl<I, O> Clone for History<I, O> {
    fn clone(&self) -> Self {
        History { inner: Arc::clone(&self.inner) }
    }
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History::new()
    }
}

impl<I, O> std::fmt::Debug for History<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("operations", &self.len()).finish()
    }
}

/// An operation that has been called and not yet finished, from [`History::begin`].
///
/// Finish it with [`Pending::finish`] (or [`History::finish`]). Dropping it, or calling
/// [`Pending::unknown`], leaves the operation with an unknown outcome.
#[must_use = "finish the operation, or call `unknown` if its outcome is not known"]
pub struct Pending<I, O> {
    history: History<I, O>,
    index: usize,
}

impl<I, O> std::fmt::Debug for Pending<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("index", &self.index).finish()
    }
}

impl<I, O> Pending<I, O> {
    /// Records that the operation returned `output`, now.
    pub fn finish(self, output: O) {
        let now = Instant::now();
        let mut inner = self.history.inner.lock();
        let t = inner.stamp(now);
        inner.entries[self.index].outcome = Some((Some(output), t));
    }

    /// Records that the operation's outcome is unknown: it may take effect at any point after its
    /// call, or never. (Dropping the `Pending` does the same.)
    pub fn unknown(self) {}
}

impl<I, O> History<I, O> {
    /// An empty history.
    pub fn new() -> Self {
        History { inner: Arc::new(Mutex::new(Inner { entries: Vec::new(), last: 0 })) }
    }

    /// Records the call of an operation by `client`, now. The operation counts as having an
    /// unknown outcome until it is finished.
    pub fn begin(&self, client: usize, input: I) -> Pending<I, O> {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let call = inner.stamp(now);
        let index = inner.entries.len();
        inner.entries.push(Entry { client, input, call, outcome: None });
        Pending { history: self.clone(), index }
    }

    /// Records that `op` returned `output`, now.
    ///
    /// # Panics
    /// If `op` was begun on another history.
    pub fn finish(&self, op: Pending<I, O>, output: O) {
        assert!(
            Arc::ptr_eq(&self.inner, &op.history.inner),
            "History::finish: the operation was begun on a different history"
        );
        op.finish(output);
    }

    /// Records that `op`'s outcome is unknown (the same as dropping it).
    pub fn unknown(&self, op: Pending<I, O>) {
        op.unknown();
    }

    /// Records a completed operation with explicit times (from any one clock).
    ///
    /// Fails with [`HistoryError::ReturnBeforeCall`] if `ret < call`.
    pub fn record(
        &self,
        client: usize,
        input: I,
        call: u64,
        output: O,
        ret: u64,
    ) -> Result<(), HistoryError> {
        if ret < call {
            return Err(HistoryError::ReturnBeforeCall { client, call, ret });
        }
        self.inner.lock().entries.push(Entry { client, input, call, outcome: Some((Some(output), ret)) });
        Ok(())
    }

    /// Records an operation called at `call` whose outcome is unknown: it may take effect at any
    /// point after its call, or never.
    pub fn record_unknown(&self, client: usize, input: I, call: u64) {
        self.inner.lock().entries.push(Entry { client, input, call, outcome: None });
    }

    /// The number of operations recorded (finished or not).
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// True if nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<I: Clone, O: Clone> History<I, O> {
    /// The operations recorded so far, in the order they were called, ready for the checker.
    /// Operations not finished yet have an unknown outcome.
    pub fn operations(&self) -> Vec<Operation<I, O>> {
        let inner = self.inner.lock();
        inner
            .entries
            .iter()
            .map(|e| match &e.outcome {
                Some((output, ret)) => {
                    Operation::with_output(e.client, e.input.clone(), e.call, output.clone(), *ret)
                        .expect("recorded returns never precede their calls")
                }
                None => Operation::pending(e.client, e.input.clone(), e.call),
            })
            .collect()
    }

    /// Checks the operations recorded so far against `model` with a (wall-clock) time budget
    /// (see [`linearizability::check`]). Inside a simulated world the search runs as one
    /// [`labs::world::compute`] call, which the spin watchdog ignores. The history is handed to
    /// the checker, so a failing check keeps it for its visualisation without a second copy.
    pub fn check<M: Model<Input = I, Output = O>>(&self, model: &M, budget: Duration) -> Report {
        let ops = self.operations();
        labs::world::compute(|| linearizability::Checker::new().budget(budget).check_owned(model, ops))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linearizability::{KvInput, KvModel, KvOutput};

    #[test]
    fn begin_finish_and_unknown() {
        let h: History<KvInput, KvOutput> = History::new();
        let a = h.begin(0, KvInput::put("k", "1"));
        let b = h.begin(1, KvInput::get("k"));
        h.finish(a, KvOutput::none());
        b.finish(KvOutput::value("1"));
        let c = h.begin(2, KvInput::append("k", "2"));
        h.unknown(c);
        let _dropped = h.begin(3, KvInput::append("k", "3"));
        let ops = h.operations();
        assert_eq!(ops.len(), 4);
        // Strictly increasing timestamps in recording order.
        assert!(ops[0].call() < ops[1].call());
        assert!(ops[1].call() < ops[0].ret().unwrap());
        assert!(ops[0].ret().unwrap() < ops[1].ret().unwrap());
        assert!(ops[1].ret().unwrap() < ops[2].call());
        assert_eq!(ops[2].ret(), None);
        assert_eq!(ops[2].output(), None);
        assert_eq!(ops[3].ret(), None);
        assert!(h.check(&KvModel, Duration::from_secs(5)).is_linearizable());
    }

    #[test]
    fn return_before_call_is_rejected() {
        let h: History<KvInput, KvOutput> = History::new();
        let err = h.record(7, KvInput::get("k"), 10, KvOutput::value(""), 9).unwrap_err();
        assert_eq!(err, HistoryError::ReturnBeforeCall { client: 7, call: 10, ret: 9 });
        assert!(err.to_string().contains("before its call"), "{err}");
        assert!(h.is_empty());
        h.record(7, KvInput::get("k"), 10, KvOutput::value(""), 10).unwrap();
        h.record_unknown(8, KvInput::put("k", "x"), 11);
        assert_eq!(h.len(), 2);
    }

    #[test]
    #[allow(clippy::disallowed_methods, reason = "plain OS threads, outside any world, on purpose")]
    fn clones_share_and_threads_record() {
        let h: History<KvInput, KvOutput> = History::new();
        std::thread::scope(|s| {
            for c in 0..4 {
                let h = h.clone();
                s.spawn(move || {
                    for i in 0..50 {
                        let op = h.begin(c, KvInput::append("k", format!("{c}.{i} ")));
                        op.finish(KvOutput::none());
                    }
                });
            }
        });
        assert_eq!(h.len(), 200);
        assert!(h.check(&KvModel, Duration::from_secs(5)).is_linearizable());
    }

    #[test]
    #[should_panic(expected = "different history")]
    fn finishing_on_another_history_panics() {
        let h1: History<KvInput, KvOutput> = History::new();
        let h2: History<KvInput, KvOutput> = History::new();
        let op = h1.begin(0, KvInput::get("k"));
        h2.finish(op, KvOutput::value(""));
    }
}
