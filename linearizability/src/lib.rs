//! A linearizability checker: decides whether a concurrent history of client operations could
//! have come from a single copy of a sequential object.
//!
//! The KV and shard suites judge correctness this way. It is a Rust take on Porcupine
//! (github.com/anishathalye/porcupine, which 6.5840's testers use), with one deliberate
//! difference: it never passes silently. A check that does not finish within its budget is
//! [`CheckResult::Unknown`], and the suites fail on it.
//!
//! * [`Operation`]: one client operation with its call and return times (a history is a slice of
//!   them; the test kit's `History` records one from a running test).
//! * [`Model`]: the sequential specification. [`KvModel`] (get/put/append, partitioned by key),
//!   [`KvMapModel`] (the same, on the whole map), [`VersionedKvModel`] (Lab 2's versioned
//!   get/put) and [`RegisterModel`] (read/write/cas) are provided.
//! * [`check`] / [`Checker`]: the search (Wing & Gong with Lowe's cache, partitions in parallel),
//!   giving a [`Report`] whose [`CheckResult`] explains a failure in words and which can write an
//!   HTML visualisation ([`Report::write_visualization_to_temp`]).
//! * [`parse`]: readers for the two golden history formats (Jepsen etcd logs and Porcupine's KV
//!   logs).

mod checker;
mod explain;
mod kv;
pub mod parse;
mod register;
mod versioned;
mod visualize;

pub use checker::{Checker, DEFAULT_BUDGET, check};
pub use explain::{
    CheckResult, DescribedOp, Explanation, LinearizedOp, PartitionStatus, PartitionSummary, Report,
};
pub use kv::{KvInput, KvMapModel, KvMapState, KvModel, KvOp, KvOutput, KvValue};
pub use register::{RegisterInput, RegisterModel, RegisterOutput};
pub use versioned::{VersionedInput, VersionedKvModel, VersionedOutput, VersionedState};

use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};

/// The return time of an operation that never returned: its outcome is unknown, and it may take
/// effect at any point after its call, or never.
pub const NEVER: u64 = u64::MAX;

/// An error in a history itself (as opposed to a history that is not linearizable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// An operation's return time is earlier than its call time.
    #[error(
        "operation of client {client} returns at {ret} before its call at {call}: \
         a return must not come before its call"
    )]
    ReturnBeforeCall {
        /// The client that issued the operation.
        client: usize,
        /// The call time.
        call: u64,
        /// The (earlier) return time.
        ret: u64,
    },
}

/// One client operation in a history: what was asked, what came back, and when.
///
/// Times are in any unit that orders events (nanoseconds for recorded histories, line numbers
/// for parsed ones); equal times count as concurrent. The output is `None` when it is unknown, and
/// the return time is [`NEVER`] when the operation never returned. A return before the call cannot
/// be constructed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation<I, O> {
    client: usize,
    input: I,
    call: u64,
    output: Option<O>,
    ret: u64,
}

impl<I, O> Operation<I, O> {
    /// A completed operation: called at `call`, returned `output` at `ret`.
    pub fn new(client: usize, input: I, call: u64, output: O, ret: u64) -> Result<Self, HistoryError> {
        Self::with_output(client, input, call, Some(output), ret)
    }

    /// An operation that returned at `ret` without a known result (for instance a read that timed
    /// out): the model must accept it whatever it would have returned.
    pub fn unknown_output(client: usize, input: I, call: u64, ret: u64) -> Result<Self, HistoryError> {
        Self::with_output(client, input, call, None, ret)
    }

    /// An operation that never returned: it may take effect at any point after `call`, or never.
    pub fn pending(client: usize, input: I, call: u64) -> Self {
        Operation { client, input, call, output: None, ret: NEVER }
    }

    /// The general constructor: `output` is `None` when unknown, `ret` is [`NEVER`] if it never
    /// returned. (An operation that never returned but has a known output must take effect, with
    /// that output, at some point after its call; one with an unknown output may also never take
    /// effect.)
    pub fn with_output(
        client: usize,
        input: I,
        call: u64,
        output: Option<O>,
        ret: u64,
    ) -> Result<Self, HistoryError> {
        if ret < call {
            return Err(HistoryError::ReturnBeforeCall { client, call, ret });
        }
        Ok(Operation { client, input, call, output, ret })
    }

    /// The client (process) that issued the operation; used to draw lanes.
    pub fn client(&self) -> usize {
        self.client
    }

    /// The operation's input (what was asked).
    pub fn input(&self) -> &I {
        &self.input
    }

    /// The operation's output, or `None` if it is unknown.
    pub fn output(&self) -> Option<&O> {
        self.output.as_ref()
    }

    /// The call time.
    pub fn call(&self) -> u64 {
        self.call
    }

    /// The return time, or `None` if the operation never returned.
    pub fn ret(&self) -> Option<u64> {
        (self.ret != NEVER).then_some(self.ret)
    }

    /// The return time, [`NEVER`] if it never returned.
    pub fn ret_or_never(&self) -> u64 {
        self.ret
    }
}

/// A named subset of a history's operations (indices into it) that can be checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// How the partition is shown in explanations, e.g. `key "x"`.
    pub name: String,
    /// Indices of the partition's operations in the history.
    pub ops: Vec<usize>,
}

/// A sequential specification that histories are checked against.
///
/// `step` must be a pure function of its arguments. States are compared with `Eq` and hashed with
/// `Hash` for the search's cache, so equal states must behave the same in every later step.
///
/// A model, its inputs and outputs are owned plain values (`Clone + Send + Sync + 'static`): a
/// failing check keeps a copy of the history so that its visualisation can be drawn later,
/// without describing every operation up front.
pub trait Model: Clone + Send + Sync + 'static {
    /// An operation's input. Operations with equal inputs and outputs are interchangeable: the
    /// search tries only one of them at each point.
    type Input: Clone + Eq + Hash + Send + Sync + 'static;
    /// An operation's output.
    type Output: Clone + Eq + Hash + Send + Sync + 'static;
    /// The object's state.
    type State: Clone + Eq + Hash + Send + Sync + Debug + 'static;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Applies an operation to `state`: `Some(next state)` if an operation with this input could
    /// have returned `output` in `state`, `None` if that is illegal. `output` is `None` when the
    /// output is unknown: then the operation is legal whatever it returned, and `step` gives the
    /// state after it took effect.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// True if this operation leaves the state unchanged in every state where it is legal (a
    /// read, a failed compare-and-set). The checker then places such an operation as soon as it
    /// is legal, without trying the alternatives, which prunes the search a lot. Saying `true`
    /// for an operation that can change the state makes the checker wrong; the default is
    /// `false`.
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// Splits a history into independent parts: it is linearizable iff every part is. The
    /// default keeps the whole history together. Parts should come in a deterministic order.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition { name: "the whole history".to_string(), ops: (0..ops.len()).collect() }]
    }

    /// Describes an operation in words, e.g. `get("x") -> "1"`; `output` is `None` when unknown.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// Describes a state in words.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// Quotes a string for descriptions, shortening very long ones in the middle.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 80;
    // Plain printable ASCII reads the same quoted as under `{:?}`: skip the formatter, which
    // costs more than a small history's search.
    if s.len() <= MAX && s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        q.push_str(s);
        q.push('"');
        return q;
    }
    if s.chars().count() <= MAX {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX / 2).collect();
    let tail: String = {
        let mut t: Vec<char> = s.chars().rev().take(MAX / 2).collect();
        t.reverse();
        t.into_iter().collect()
    };
    format!("{:?}…{:?} ({} chars)", head, tail, s.chars().count())
}

/// SplitMix64's finaliser: a bijective mix that turns small integers into well-spread 64-bit
/// keys for the search's tables.
#[inline]
pub(crate) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a value with rustc's Fx hash: the search does millions of lookups keyed by integers
/// and short strings, where std's SipHash would dominate the profile.
#[inline]
pub(crate) fn fx_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::quote;

    /// The fast path for plain strings quotes exactly as `{:?}` does.
    #[test]
    fn quote_matches_debug_formatting() {
        for s in
            ["", "x", "key 7", "it's", "a\"b", "back\\slash", "tab\there", "new\nline", "é", "~!@#$%^&*()"]
        {
            assert_eq!(quote(s), format!("{s:?}"), "{s:?}");
        }
        let long = "y".repeat(81);
        assert!(quote(&long).ends_with("(81 chars)"), "{}", quote(&long));
    }
}
