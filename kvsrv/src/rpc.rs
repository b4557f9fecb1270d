//! The KV service's RPCs (6.5840's `kvsrv1/rpc`): `KVServer.Get` and `KVServer.Put`, their
//! arguments, replies and errors. Given: do not change this file; the tester uses it too.

use serde::{Deserialize, Serialize};

/// The name of the KV service on the server; its methods are `KVServer.Get` and `KVServer.Put`.
pub const SERVICE: &str = "KVServer";

/// A key's version (6.5840's `Tversion`): 0 before the key exists, 1 after its first put, and
/// one more after each put that was applied.
pub type Version = u64;

/// Why a KV operation did not succeed (6.5840's `Err` values other than `OK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum KvError {
    /// `ErrNoKey`: a `Get` of a key that does not exist, or a `Put` to one with a version other
    /// than 0.
    #[error("ErrNoKey")]
    NoKey,
    /// `ErrVersion`: a `Put` whose version was not the key's; it was not applied.
    #[error("ErrVersion")]
    Version,
    /// `ErrMaybe` (from the clerk only): a re-sent `Put` got `ErrVersion`, so the first copy
    /// may or may not have been applied.
    #[error("ErrMaybe")]
    Maybe,
}

/// Arguments of `KVServer.Get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key to read.
    pub key: String,
}

/// Reply of `KVServer.Get`: the value and its version, or `NoKey`.
pub type GetReply = Result<(String, Version), KvError>;

/// Arguments of `KVServer.Put`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutArgs {
    /// The key to write.
    pub key: String,
    /// The value to install.
    pub value: String,
    /// The version the key must have for the put to apply.
    pub version: Version,
}

/// Reply of `KVServer.Put`: applied, or `Version` or `NoKey`.
pub type PutReply = Result<(), KvError>;
