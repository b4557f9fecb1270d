//! distlab's grader, as a library; the `grade` binary (`src/main.rs`) is its command line.
//!
//! * `grade run` ([`run`]) grades a workspace or a submission: a submission is built in the
//!   grader's own tree with only the student's files ([`labs`], [`tree`]) copied in, after
//!   those files pass the rules ([`rules`]). It builds the suites once, runs every catalogued
//!   test ([`catalogue`]) as its own process under several sim seeds and in real mode, under
//!   resource limits ([`process`], [`limits`]), takes each run's verdict from the harness's
//!   verdict channel ([`verdict`]), awards points in proportion to each test's pass rate, and
//!   writes a scoreboard ([`scoreboard`]), `results.json` ([`results`]), a JUnit file
//!   ([`junit`]), a Gradescope file ([`gradescope`]) and the log of every failed run.
//! * `grade batch` ([`batch`]) grades many submissions, one CSV of scores for all.
//! * `grade merge` ([`merge`]) combines the results of a job split with `--shard i/n`.
//! * `grade handout` ([`handout`]) derives the student tree by stripping the solution
//!   regions marked in the reference ([`strip`] documents the markers).
//!
//! The grader treats the code it grades as untrusted: any run may hang, crash, flood its
//! output, exhaust memory, or try to forge its result, and the grader still finishes, with
//! every failure recorded, explained and replayable.

pub mod batch;
pub mod cargo;
pub mod catalogue;
pub mod error;
pub mod gradescope;
pub mod handout;
pub mod junit;
pub mod labs;
pub mod limits;
pub mod merge;
pub mod output;
pub mod process;
pub mod progress;
pub mod results;
pub mod rules;
pub mod run;
pub mod scoreboard;
pub mod strip;
pub mod tree;
pub mod verdict;
