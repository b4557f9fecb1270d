//! The key/value models: a string-to-string map with get, put and append, as the KV labs use
//! (spec 6.3, 6.5840's `KvModel`).
//!
//! [`KvModel`] checks one key at a time (a KV history is linearizable iff every key's
//! sub-history is, so this is both exact and much faster); [`KvMapModel`] checks the whole map
//! as one object, which is only useful as a stress test of the checker.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::hash::{fx_hash, mix64};
use super::{Model, Operation, Partition, quote};

/// A KV operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key (a missing key reads as the empty string).
    Get,
    /// Set a key's value.
    Put,
    /// Append to a key's value (a missing key counts as the empty string).
    Append,
}

/// The input of a KV operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvInput {
    /// What the operation does.
    pub op: KvOp,
    /// The key it acts on.
    pub key: String,
    /// The value put or appended (empty for a get).
    pub value: String,
}

impl KvInput {
    /// `get(key)`.
    pub fn get(key: impl Into<String>) -> KvInput {
        KvInput { op: KvOp::Get, key: key.into(), value: String::new() }
    }

    /// `put(key, value)`.
    pub fn put(key: impl Into<String>, value: impl Into<String>) -> KvInput {
        KvInput { op: KvOp::Put, key: key.into(), value: value.into() }
    }

    /// `append(key, value)`.
    pub fn append(key: impl Into<String>, value: impl Into<String>) -> KvInput {
        KvInput { op: KvOp::Append, key: key.into(), value: value.into() }
    }
}

/// The output of a KV operation: the value a get returned (ignored for put and append).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvOutput {
    /// The value read.
    pub value: String,
}

impl KvOutput {
    /// The output of a get that read `value`.
    pub fn value(value: impl Into<String>) -> KvOutput {
        KvOutput { value: value.into() }
    }

    /// The output of a put or append.
    pub fn none() -> KvOutput {
        KvOutput::default()
    }
}

fn describe_kv(input: &KvInput, output: Option<&KvOutput>) -> String {
    let key = quote(&input.key);
    match (input.op, output) {
        (KvOp::Get, Some(out)) => format!("get({key}) -> {}", quote(&out.value)),
        (KvOp::Get, None) => format!("get({key}) -> ?"),
        (KvOp::Put, out) => {
            format!("put({key}, {}){}", quote(&input.value), if out.is_none() { " ?" } else { "" })
        }
        (KvOp::Append, out) => format!(
            "append({key}, {}){}",
            quote(&input.value),
            if out.is_none() { " ?" } else { "" }
        ),
    }
}

/// The KV model checked one key at a time: the state is that key's value.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = String;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match input.op {
            KvOp::Get => match output {
                Some(out) if out.value != *state => None,
                _ => Some(state.clone()),
            },
            KvOp::Put => Some(input.value.clone()),
            KvOp::Append => {
                let mut s = String::with_capacity(state.len() + input.value.len());
                s.push_str(state);
                s.push_str(&input.value);
                Some(s)
            }
        }
    }

    /// One partition per key, in key order.
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.input().key.as_str()).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(key, ops)| Partition { name: format!("key {}", quote(key)), ops })
            .collect()
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        describe_kv(input, output)
    }

    fn describe_state(&self, state: &String) -> String {
        quote(state)
    }
}

/// The state of [`KvMapModel`]: the whole map, with a precomputed hash.
///
/// Values are shared (`Arc<str>`), so a step copies pointers rather than strings, and the hash
/// is updated per changed key rather than recomputed.
#[derive(Debug, Clone, Default)]
pub struct KvMapState {
    /// (key, value) sorted by key; keys whose value is empty are left out, so equal maps have
    /// equal representations.
    entries: Vec<(Arc<str>, Arc<str>)>,
    /// Xor of a hash of every entry.
    hash: u64,
}

impl KvMapState {
    /// The value of `key` (empty if missing).
    pub fn get(&self, key: &str) -> &str {
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => &self.entries[i].1,
            Err(_) => "",
        }
    }

    fn entry_hash(key: &str, value: &str) -> u64 {
        mix64(fx_hash(key) ^ mix64(fx_hash(value)))
    }

    fn with(&self, key: &str, value: String) -> KvMapState {
        let mut next = self.clone();
        match next.entries.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => {
                next.hash ^= Self::entry_hash(key, &next.entries[i].1);
                if value.is_empty() {
                    next.entries.remove(i);
                } else {
                    next.hash ^= Self::entry_hash(key, &value);
                    next.entries[i].1 = value.into();
                }
            }
            Err(i) => {
                if !value.is_empty() {
                    next.hash ^= Self::entry_hash(key, &value);
                    next.entries.insert(i, (key.into(), value.into()));
                }
            }
        }
        next
    }
}

impl PartialEq for KvMapState {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.entries == other.entries
    }
}

impl Eq for KvMapState {}

impl std::hash::Hash for KvMapState {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The KV model over the whole map, without partitioning (a stress test for the checker; use
/// [`KvModel`] to check KV histories).
#[derive(Debug, Clone, Copy, Default)]
pub struct KvMapModel;

impl Model for KvMapModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = KvMapState;

    fn init(&self) -> KvMapState {
        KvMapState::default()
    }

    fn step(
        &self,
        state: &KvMapState,
        input: &KvInput,
        output: Option<&KvOutput>,
    ) -> Option<KvMapState> {
        match input.op {
            KvOp::Get => match output {
                Some(out) if out.value != state.get(&input.key) => None,
                _ => Some(state.clone()),
            },
            KvOp::Put => Some(state.with(&input.key, input.value.clone())),
            KvOp::Append => {
                let old = state.get(&input.key);
                let mut s = String::with_capacity(old.len() + input.value.len());
                s.push_str(old);
                s.push_str(&input.value);
                Some(state.with(&input.key, s))
            }
        }
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        describe_kv(input, output)
    }

    fn describe_state(&self, state: &KvMapState) -> String {
        let items: Vec<String> =
            state.entries.iter().map(|(k, v)| format!("{}: {}", quote(k), quote(v))).collect();
        format!("{{{}}}", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_steps() {
        let m = KvModel;
        let s = m.init();
        assert_eq!(m.step(&s, &KvInput::get("k"), Some(&KvOutput::value(""))), Some(String::new()));
        assert_eq!(m.step(&s, &KvInput::get("k"), Some(&KvOutput::value("x"))), None);
        assert_eq!(m.step(&s, &KvInput::get("k"), None), Some(String::new()));
        let s = m.step(&s, &KvInput::put("k", "a"), Some(&KvOutput::none())).unwrap();
        let s = m.step(&s, &KvInput::append("k", "b"), None).unwrap();
        assert_eq!(s, "ab");
    }

    #[test]
    fn map_state_is_canonical() {
        let m = KvMapModel;
        let a = m.step(&m.init(), &KvInput::put("x", "1"), None).unwrap();
        let a = m.step(&a, &KvInput::put("y", "2"), None).unwrap();
        let b = m.step(&m.init(), &KvInput::append("y", "2"), None).unwrap();
        let b = m.step(&b, &KvInput::append("x", "1"), None).unwrap();
        assert_eq!(a, b);
        assert_eq!(fx_hash(&a), fx_hash(&b));
        let c = m.step(&a, &KvInput::put("x", ""), None).unwrap();
        let d = m.step(&m.init(), &KvInput::put("y", "2"), None).unwrap();
        assert_eq!(c, d);
        assert_eq!(a.get("y"), "2");
        assert_eq!(c.get("x"), "");
        assert_eq!(m.describe_state(&a), r#"{"x": "1", "y": "2"}"#);
    }
}
