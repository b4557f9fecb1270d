//! distlab's grader, as a library; the `grade` binary (`src/main.rs`) is its command line.
//!
//! * `grade run` ([`run`]) grades a workspace: it builds the suites once, runs every
//!   catalogued test ([`catalogue`]) as its own process under several sim seeds and in real
//!   mode ([`process`]), awards points in proportion to each test's pass rate, and writes a
//!   scoreboard ([`scoreboard`]), `results.json` ([`results`]), a JUnit file ([`junit`]) and
//!   the log of every failed run.
//! * `grade merge` ([`merge`]) combines the results of a job split with `--shard i/n`.
//! * `grade handout` ([`handout`]) derives the student tree by stripping the solution
//!   regions marked in the reference ([`strip`] documents the markers).
//!
//! The grader treats the code it grades as untrusted: any run may hang, crash or flood its
//! output, and the grader still finishes, with every failure recorded and replayable.

pub mod cargo;
pub mod catalogue;
pub mod error;
pub mod handout;
pub mod junit;
pub mod merge;
pub mod output;
pub mod process;
pub mod progress;
pub mod results;
pub mod run;
pub mod scoreboard;
pub mod strip;
