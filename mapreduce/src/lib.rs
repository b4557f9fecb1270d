//! Lab 1: MapReduce (6.5840 Lab 1; docs/lab1-mapreduce.md), after Dean and Ghemawat's paper.
//!
//! A coordinator hands out map and reduce tasks to workers and notices workers that fail;
//! workers run an application's [`App::map`] on input files and its [`App::reduce`] on the
//! intermediate pairs, and write the output files `mr-out-X`. Coordinator and workers are
//! nodes of one world: they talk over labrpc and share the world's file system (`labs::fs`).
//!
//! * [`coordinator`]: the [`Coordinator`] (what students write);
//! * [`worker`]: the [`worker`] function (what students write);
//! * [`rpc`]: the RPC argument and reply types between them (what students write).
//!
//! This file is given: [`KeyValue`], [`ihash`] and the [`App`] trait, which stands for
//! 6.5840's Go plugins. The tester, the eight test applications and the suite live in the
//! `mapreduce-tests` crate. Run the suite with `cargo test -p mapreduce-tests --test lab1` (or
//! `make lab1`); add `LAB_SEED=N` to replay a seed, `LAB_SEEDS=K` to try K seeds, and
//! `LAB_RUNTIME=real` to run on OS threads and the wall clock.

// Student code may not use `unsafe`: the grader builds this file as it is here, whatever a
// submission holds, so this line binds every graded build (see grading/src/rules.rs).
#![forbid(unsafe_code)]

pub mod coordinator;
pub mod rpc;
pub mod worker;

pub use coordinator::Coordinator;
pub use worker::worker;

use serde::{Deserialize, Serialize};

/// A key/value pair, as a map function emits them.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue { key: key.into(), value: value.into() }
    }
}

/// An application's map and reduce functions (6.5840 loads them from a Go plugin). Both may be
/// called many times, from many threads and workers at once.
pub trait App: Send + Sync {
    /// Map: called once per input file, with its name and contents; returns the intermediate
    /// pairs.
    fn map(&self, filename: &str, contents: &str) -> Vec<KeyValue>;
    /// Reduce: called once per distinct intermediate key, with every value the maps emitted
    /// for it; returns the key's output value.
    fn reduce(&self, key: &str, values: &[String]) -> String;
}

/// The reduce task of a key is `ihash(key) % n_reduce`: 32-bit FNV-1a of the key, with the
/// top bit cleared (6.5840's `ihash`), so that outputs are partitioned as the tester expects.
pub fn ihash(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::ihash;

    #[test]
    fn ihash_is_fnv1a_without_the_top_bit() {
        // FNV-1a 32 of "" is 0x811c9dc5, of "a" 0xe40c292c.
        assert_eq!(ihash(""), 0x811c_9dc5 & 0x7fff_ffff);
        assert_eq!(ihash("a"), 0xe40c_292c & 0x7fff_ffff);
        assert_eq!(ihash("foobar"), 0xbf9c_f968 & 0x7fff_ffff);
    }
}
