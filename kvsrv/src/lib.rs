//! Lab 2: a key/value server on one machine, with versioned puts, and a lock built on it
//! (6.5840's `kvsrv1`, the 2026 version; docs/lab2-kvsrv.md).
//!
//! * [`rpc`]: the RPC types and errors, given (do not change them: the tester uses them too).
//! * [`server`]: the server ([`KvServer`]): `Get` returns a key's value and version; `Put`
//!   installs a value only if the caller names the key's current version.
//! * [`client`]: the clerk ([`Clerk`]): retries until it gets an answer, and says
//!   [`KvError::Maybe`] when a re-sent `Put` cannot tell whether its first copy was applied.
//! * [`lock`]: a lock ([`Lock`]) whose state lives only in the key/value service, built on any
//!   [`KvClerk`].
//!
//! This crate is the student's; the tester and the suites live in the `kvsrv-tests` crate. Run
//! a part with `cargo test -p kvsrv-tests --test lab2a` or `--test lab2b` (or `make lab2a`,
//! `make lab2b`); add `LAB_SEED=N` to replay a seed, `LAB_SEEDS=K` to try K seeds, and
//! `LAB_RUNTIME=real` to run on OS threads and the wall clock.

// Student code may not use `unsafe`: the grader builds this file as it is here, whatever a
// submission holds, so this line binds every graded build (see grading/src/rules.rs).
#![forbid(unsafe_code)]

pub mod client;
pub mod lock;
pub mod rpc;
pub mod server;

pub use client::Clerk;
pub use lock::Lock;
pub use rpc::{KvError, Version};
pub use server::KvServer;

/// What a lock (and the tester) needs from a clerk: 6.5840's `IKVClerk`. The lab's [`Clerk`]
/// implements it; the tester wraps it in a clerk that records every operation.
pub trait KvClerk: Send + Sync {
    /// The value and version of `key`, or [`KvError::NoKey`]. Keeps trying until it gets an
    /// answer.
    fn get(&self, key: &str) -> Result<(String, Version), KvError>;
    /// Installs `value` for `key` if the key's version is `version` (0 creates a key that does
    /// not exist). Keeps trying until it gets an answer: [`KvError::Version`] if the versions
    /// did not match, [`KvError::NoKey`] for a version other than 0 on a missing key, and
    /// [`KvError::Maybe`] if a re-sent request got `Version` (the first copy may have been
    /// applied).
    fn put(&self, key: &str, value: &str, version: Version) -> Result<(), KvError>;
}
