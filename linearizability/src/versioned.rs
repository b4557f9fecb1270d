//! The versioned key/value model of Lab 2 (6.5840's `kvsrv1`, docs/lab2-kvsrv.md): every key
//! has a value and a version; `Get` returns both; `Put(key, value, version)` installs the value
//! and bumps the version only if `version` is the key's current version (0 for a key that does
//! not exist yet, which the put creates at version 1).
//!
//! A clerk's `Put` that was sent more than once and then got `ErrVersion` cannot tell whether
//! its first copy was applied, and returns `ErrMaybe`. The model treats such a put as applied
//! exactly when the versions match at its linearization point, as 6.5840's porcupine model
//! does. That is sound: a maybe-put that was applied took effect at a point where the versions
//! matched; one that was not got `ErrVersion` at some point inside its interval, where they did
//! not. The same holds for a put whose outcome is unknown.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Model, Operation, Partition, quote};

/// The input of a versioned KV operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VersionedInput {
    /// `Get(key)`.
    Get {
        /// The key read.
        key: String,
    },
    /// `Put(key, value, version)`.
    Put {
        /// The key written.
        key: String,
        /// The value to install.
        value: String,
        /// The version the put expects the key to have.
        version: u64,
    },
}

impl VersionedInput {
    /// `Get(key)`.
    pub fn get(key: impl Into<String>) -> VersionedInput {
        VersionedInput::Get { key: key.into() }
    }

    /// `Put(key, value, version)`.
    pub fn put(key: impl Into<String>, value: impl Into<String>, version: u64) -> VersionedInput {
        VersionedInput::Put { key: key.into(), value: value.into(), version }
    }

    /// The key the operation acts on.
    pub fn key(&self) -> &str {
        match self {
            VersionedInput::Get { key } | VersionedInput::Put { key, .. } => key,
        }
    }
}

/// The output of a versioned KV operation (6.5840's `Err` values, plus a get's result).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VersionedOutput {
    /// A `Get` found the key with this value and version.
    Value {
        /// The value read.
        value: String,
        /// Its version.
        version: u64,
    },
    /// `ErrNoKey`: a `Get` of a key that does not exist, or a `Put` with a version other than 0
    /// to one.
    NoKey,
    /// `OK`: a `Put` was applied.
    Ok,
    /// `ErrVersion`: a `Put` whose version did not match was not applied.
    Version,
    /// `ErrMaybe`: a re-sent `Put` got `ErrVersion`; it may or may not have been applied.
    Maybe,
}

/// A key's state: `None` while the key does not exist, else its value and version.
pub type VersionedState = Option<(Arc<str>, u64)>;

/// The versioned KV model, checked one key at a time (a history is linearizable iff every
/// key's sub-history is).
#[derive(Debug, Clone, Copy, Default)]
pub struct VersionedKvModel;

/// Whether a put at `version` applies in `state`, and the state it leaves if so.
fn applied(state: &VersionedState, value: &str, version: u64) -> Option<VersionedState> {
    let current = state.as_ref().map_or(0, |(_, v)| *v);
    (version == current).then(|| Some((Arc::from(value), current + 1)))
}

impl Model for VersionedKvModel {
    type Input = VersionedInput;
    type Output = VersionedOutput;
    type State = VersionedState;

    fn init(&self) -> VersionedState {
        None
    }

    fn step(
        &self,
        state: &VersionedState,
        input: &VersionedInput,
        output: Option<&VersionedOutput>,
    ) -> Option<VersionedState> {
        match input {
            VersionedInput::Get { .. } => match (output, state) {
                (None, _) => Some(state.clone()),
                (Some(VersionedOutput::NoKey), None) => Some(None),
                (Some(VersionedOutput::Value { value, version }), Some((v, n)))
                    if **v == **value && n == version =>
                {
                    Some(state.clone())
                }
                _ => None,
            },
            VersionedInput::Put { value, version, .. } => {
                let next = applied(state, value, *version);
                match output {
                    None | Some(VersionedOutput::Maybe) => Some(next.unwrap_or_else(|| state.clone())),
                    Some(VersionedOutput::Ok) => next,
                    Some(VersionedOutput::Version) => {
                        (state.is_some() && next.is_none()).then(|| state.clone())
                    }
                    Some(VersionedOutput::NoKey) => (state.is_none() && *version != 0).then_some(None),
                    Some(VersionedOutput::Value { .. }) => None,
                }
            }
        }
    }

    /// Gets, and puts known not to have been applied.
    fn is_read_only(&self, input: &VersionedInput, output: Option<&VersionedOutput>) -> bool {
        matches!(
            (input, output),
            (VersionedInput::Get { .. }, _)
                | (VersionedInput::Put { .. }, Some(VersionedOutput::Version | VersionedOutput::NoKey))
        )
    }

    /// One partition per key, in key order.
    fn partition(&self, ops: &[Operation<VersionedInput, VersionedOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.input().key()).or_default().push(i);
        }
        by_key.into_iter().map(|(key, ops)| Partition { name: format!("key {}", quote(key)), ops }).collect()
    }

    fn describe_operation(&self, input: &VersionedInput, output: Option<&VersionedOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(VersionedOutput::Value { value, version }) => format!("({}, {version})", quote(value)),
            Some(VersionedOutput::NoKey) => "ErrNoKey".to_string(),
            Some(VersionedOutput::Ok) => "OK".to_string(),
            Some(VersionedOutput::Version) => "ErrVersion".to_string(),
            Some(VersionedOutput::Maybe) => "ErrMaybe".to_string(),
        };
        match input {
            VersionedInput::Get { key } => format!("get({}) -> {out}", quote(key)),
            VersionedInput::Put { key, value, version } => {
                format!("put({}, {}, {version}) -> {out}", quote(key), quote(value))
            }
        }
    }

    fn describe_state(&self, state: &VersionedState) -> String {
        match state {
            None => "no key".to_string(),
            Some((v, n)) => format!("{} at version {n}", quote(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_steps() {
        let m = VersionedKvModel;
        let s = m.init();
        let get = VersionedInput::get("k");
        assert_eq!(m.step(&s, &get, Some(&VersionedOutput::NoKey)), Some(None));
        assert_eq!(m.step(&s, &VersionedInput::put("k", "a", 1), Some(&VersionedOutput::NoKey)), Some(None));
        assert_eq!(m.step(&s, &VersionedInput::put("k", "a", 0), Some(&VersionedOutput::NoKey)), None);
        assert_eq!(m.step(&s, &VersionedInput::put("k", "a", 0), Some(&VersionedOutput::Version)), None);
        let one = m.step(&s, &VersionedInput::put("k", "a", 0), Some(&VersionedOutput::Ok)).unwrap();
        assert_eq!(one, Some((Arc::from("a"), 1)));
        let value = |v: &str, n| VersionedOutput::Value { value: v.into(), version: n };
        assert!(m.step(&one, &get, Some(&value("a", 1))).is_some());
        assert!(m.step(&one, &get, Some(&value("a", 2))).is_none());
        assert!(m.step(&one, &get, Some(&VersionedOutput::NoKey)).is_none());
        // A stale put fails with ErrVersion and changes nothing; OK would be illegal.
        let stale = VersionedInput::put("k", "b", 0);
        assert_eq!(m.step(&one, &stale, Some(&VersionedOutput::Version)), Some(one.clone()));
        assert_eq!(m.step(&one, &stale, Some(&VersionedOutput::Ok)), None);
        // ErrMaybe, or an unknown outcome: applied iff the versions match.
        let fresh = VersionedInput::put("k", "b", 1);
        let two = Some((Arc::from("b"), 2));
        assert_eq!(m.step(&one, &fresh, Some(&VersionedOutput::Maybe)), Some(two.clone()));
        assert_eq!(m.step(&one, &fresh, None), Some(two));
        assert_eq!(m.step(&one, &stale, Some(&VersionedOutput::Maybe)), Some(one.clone()));
        assert!(m.is_read_only(&stale, Some(&VersionedOutput::Version)));
        assert!(!m.is_read_only(&fresh, Some(&VersionedOutput::Maybe)));
        assert_eq!(
            m.describe_operation(&fresh, Some(&VersionedOutput::Maybe)),
            "put(\"k\", \"b\", 1) -> ErrMaybe"
        );
        assert_eq!(m.describe_operation(&get, Some(&value("a", 1))), "get(\"k\") -> (\"a\", 1)");
        assert_eq!(m.describe_state(&one), "\"a\" at version 1");
    }
}
