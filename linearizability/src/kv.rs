//! The key/value models: a string-to-string map with get, put and append, as the KV labs use
//! (6.5840's `porcupine` `KvModel` in `models/kv.go`).
//!
//! [`KvModel`] checks one key at a time (a KV history is linearizable iff every key's
//! sub-history is, so this is both exact and much faster); [`KvMapModel`] checks the whole map
//! as one object, which is only useful as a stress test of the checker.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Model, Operation, Partition, quote};
use super::{fx_hash, mix64};

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
        (KvOp::Append, out) => {
            format!("append({key}, {}){}", quote(&input.value), if out.is_none() { " ?" } else { "" })
        }
    }
}

/// A key's value as a model state: a chain of appended pieces (a rope), so that an append
/// costs one small allocation instead of a copy of the whole value, however long it grows.
///
/// Equality is structural: two values are equal if they are the same piece appended to the
/// same (shared) earlier value. Equal values therefore always have the same contents, which is
/// all the checker needs; the same contents built another way may compare unequal, which only
/// costs the search some repeated work. Hashing and comparing are O(1).
#[derive(Clone)]
pub struct KvValue(Arc<Piece>);

struct Piece {
    /// The value this piece was appended to (`None` for a put, or an append to nothing).
    parent: Option<KvValue>,
    text: Text,
    /// Length in bytes of the whole value.
    len: usize,
    hash: u64,
}

/// A piece's text: short ones (the usual appended value) are stored inline, saving an
/// allocation per append.
enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

const INLINE: usize = 22;

impl Text {
    fn new(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Text::Inline { len: s.len() as u8, bytes }
        } else {
            Text::Heap(s.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Inline { len, bytes } => &bytes[..*len as usize],
            Text::Heap(s) => s.as_bytes(),
        }
    }
}

impl Drop for Piece {
    // Frees a long chain iteratively: the default recursive drop could overflow the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(KvValue(arc)) = next {
            next = match Arc::into_inner(arc) {
                Some(mut piece) => piece.parent.take(),
                None => None,
            };
        }
    }
}

impl KvValue {
    /// A value (as set by a put).
    pub fn new(value: &str) -> KvValue {
        KvValue::piece(None, value)
    }

    fn piece(parent: Option<KvValue>, text: &str) -> KvValue {
        let parent_id = parent.as_ref().map_or(0, |p| Arc::as_ptr(&p.0) as usize as u64);
        let len = parent.as_ref().map_or(0, KvValue::len) + text.len();
        let hash = mix64(parent_id ^ fx_hash(text));
        KvValue(Arc::new(Piece { parent, text: Text::new(text), len, hash }))
    }

    /// This value with `tail` appended.
    pub fn appended(&self, tail: &str) -> KvValue {
        if self.is_empty() {
            return KvValue::new(tail);
        }
        KvValue::piece(Some(self.clone()), tail)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// True if the value is exactly `s`.
    pub fn matches(&self, s: &str) -> bool {
        if self.len() != s.len() {
            return false;
        }
        // Compare piece by piece from the end, where values differ first.
        let s = s.as_bytes();
        let mut end = s.len();
        let mut at = Some(self);
        while let Some(v) = at {
            let piece = v.0.text.as_bytes();
            if s[end - piece.len()..end] != *piece {
                return false;
            }
            end -= piece.len();
            at = v.0.parent.as_ref();
        }
        true
    }
}

impl std::fmt::Display for KvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = Vec::with_capacity(self.len());
        let mut at = Some(self);
        while let Some(v) = at {
            bytes.extend(v.0.text.as_bytes().iter().rev());
            at = v.0.parent.as_ref();
        }
        bytes.reverse();
        // The pieces came from `&str`s, so the whole is UTF-8.
        f.write_str(&String::from_utf8_lossy(&bytes))
    }
}

impl std::fmt::Debug for KvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl PartialEq for KvValue {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&*self.0, &*other.0);
        Arc::ptr_eq(&self.0, &other.0)
            || (a.hash == b.hash
                && a.len == b.len
                && a.text.as_bytes() == b.text.as_bytes()
                && match (&a.parent, &b.parent) {
                    (None, None) => true,
                    (Some(x), Some(y)) => Arc::ptr_eq(&x.0, &y.0),
                    _ => false,
                })
    }
}

impl Eq for KvValue {}

impl std::hash::Hash for KvValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

/// The KV model checked one key at a time: the state is that key's value.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = KvValue;

    fn init(&self) -> KvValue {
        KvValue::new("")
    }

    fn step(&self, state: &KvValue, input: &KvInput, output: Option<&KvOutput>) -> Option<KvValue> {
        match input.op {
            KvOp::Get => match output {
                Some(out) if !state.matches(&out.value) => None,
                _ => Some(state.clone()),
            },
            KvOp::Put => Some(KvValue::new(input.value.as_str())),
            KvOp::Append => Some(state.appended(&input.value)),
        }
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        input.op == KvOp::Get
    }

    /// One partition per key, in key order.
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.input().key.as_str()).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(key, ops)| Partition { name: "key ".to_string() + &quote(key), ops })
            .collect()
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        describe_kv(input, output)
    }

    fn describe_state(&self, state: &KvValue) -> String {
        quote(&state.to_string())
    }
}

/// A value in [`KvMapState`]: the whole string, shared, with its hash. Unlike [`KvValue`] its
/// equality is by contents, so that equal maps reached in different orders compare equal.
#[derive(Debug, Clone)]
struct FlatValue {
    text: Arc<str>,
    hash: u64,
}

impl FlatValue {
    fn new(text: String) -> FlatValue {
        FlatValue { hash: fx_hash(text.as_str()), text: text.into() }
    }
}

impl PartialEq for FlatValue {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for FlatValue {}

/// The state of [`KvMapModel`]: the whole map, with a precomputed hash.
///
/// Values are shared (`Arc<str>`), so a step copies pointers rather than strings, and the hash
/// is updated per changed key rather than recomputed.
#[derive(Debug, Clone, Default)]
pub struct KvMapState {
    /// (key, value) sorted by key; keys whose value is empty are left out, so equal maps have
    /// equal representations.
    entries: Vec<(Arc<str>, FlatValue)>,
    /// Xor of a hash of every entry.
    hash: u64,
}

impl KvMapState {
    /// The value of `key` (empty if missing).
    pub fn get(&self, key: &str) -> &str {
        match self.entries.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => &self.entries[i].1.text,
            Err(_) => "",
        }
    }

    fn entry_hash(key: &str, value: &FlatValue) -> u64 {
        mix64(fx_hash(key) ^ mix64(value.hash))
    }

    fn with(&self, key: &str, value: String) -> KvMapState {
        let mut next = self.clone();
        let value = FlatValue::new(value);
        match next.entries.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => {
                next.hash ^= Self::entry_hash(key, &next.entries[i].1);
                if value.text.is_empty() {
                    next.entries.remove(i);
                } else {
                    next.hash ^= Self::entry_hash(key, &value);
                    next.entries[i].1 = value;
                }
            }
            Err(i) => {
                if !value.text.is_empty() {
                    next.hash ^= Self::entry_hash(key, &value);
                    next.entries.insert(i, (key.into(), value));
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

    fn step(&self, state: &KvMapState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvMapState> {
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

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        input.op == KvOp::Get
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        describe_kv(input, output)
    }

    fn describe_state(&self, state: &KvMapState) -> String {
        let items: Vec<String> =
            state.entries.iter().map(|(k, v)| format!("{}: {}", quote(k), quote(&v.text))).collect();
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
        let empty = KvValue::new("");
        assert_eq!(m.step(&s, &KvInput::get("k"), Some(&KvOutput::value(""))), Some(empty.clone()));
        assert_eq!(m.step(&s, &KvInput::get("k"), Some(&KvOutput::value("x"))), None);
        assert_eq!(m.step(&s, &KvInput::get("k"), None), Some(empty));
        let s = m.step(&s, &KvInput::put("k", "a"), Some(&KvOutput::none())).unwrap();
        let s = m.step(&s, &KvInput::append("k", "b"), None).unwrap();
        assert_eq!(s.to_string(), "ab");
        assert!(s.matches("ab") && !s.matches("ba") && !s.matches("abc"));
        // Same contents built the same way from a shared value: equal, same hash.
        let t = m.step(&s, &KvInput::append("k", "c"), None).unwrap();
        let u = m.step(&s, &KvInput::append("k", "c"), None).unwrap();
        assert_eq!(t, u);
        assert_eq!(fx_hash(&t), fx_hash(&u));
        assert_ne!(t, m.step(&s, &KvInput::append("k", "d"), None).unwrap());
        // An append to nothing is the same as a put.
        let e = m.step(&m.init(), &KvInput::append("k", "x"), None).unwrap();
        assert_eq!(e, KvValue::new("x"));
    }

    #[test]
    fn long_values_drop_without_recursion() {
        let mut v = KvValue::new("");
        for i in 0..1_000_000 {
            v = v.appended(if i % 2 == 0 { "a" } else { "b" });
        }
        assert_eq!(v.len(), 1_000_000);
        drop(v);
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
