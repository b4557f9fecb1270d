//! Lab 1: MapReduce (docs/lab1-mapreduce.md). Run with `cargo test -p mapreduce-tests --test lab1` or
//! `make lab1`; the test bodies are in `suite/lab1.rs`.
//!
//! Every test also checks the lab's rules as it runs (see the `mapreduce-tests` crate and the
//! handout's table): reduce after map, re-issue after 10 s and never sooner, atomic output,
//! Done only when the job is done, and termination.

#[path = "suite/lab1.rs"]
mod suite;

use mapreduce_tests::Reference;

labs::lab_test! {
    /// 6.5840: TestWc. Word count on the eight inputs with 3 workers: the merged output must
    /// equal the sequential implementation's.
    fn wc_1() {
        suite::wc::<Reference>();
    }

    /// 6.5840: TestIndexer. An inverted index of the eight inputs with 2 workers.
    fn indexer_1() {
        suite::indexer::<Reference>();
    }

    /// 6.5840: TestMapParallel (with 2025's stronger check). Two workers, maps of 1 s each:
    /// both run maps, and some map saw the other running.
    fn map_parallel_1() {
        suite::map_parallel::<Reference>();
    }

    /// 6.5840: TestReduceParallel. Two workers, reduces of 1 s each: at least two reduces saw
    /// the other worker's reduce running.
    fn reduce_parallel_1() {
        suite::reduce_parallel::<Reference>();
    }

    /// 6.5840: TestJobCount. Four workers, maps of 2-5 s: each of the 8 maps runs exactly once.
    fn job_count_1() {
        suite::job_count::<Reference>();
    }

    /// 6.5840: TestEarlyExit. Four workers, two reduces of 3 s: the output when the first
    /// process exits is the final output.
    fn early_exit_1() {
        suite::early_exit::<Reference>();
    }

    /// distlab: workers crashed between writing a file and renaming it (a map worker in the
    /// middle of its intermediate files, a reduce worker before its output's rename): the
    /// output must be exact.
    fn crash_mid_write_1() {
        suite::crash_mid_write::<Reference>();
    }

    /// distlab: stalled workers report their tasks after the tasks were re-issued, one while
    /// the task is still running elsewhere: no reduce before every map is done, exact output.
    fn late_report_1() {
        suite::late_report::<Reference>();
    }

    /// distlab: while one long map runs, the three idle workers ask for work at most 150
    /// times a second each.
    fn no_busy_poll_1() {
        suite::no_busy_poll::<Reference>();
    }

    /// distlab: word count over an unreliable network: lost RPCs are retried, the output is
    /// exact.
    fn unreliable_rpc_1() {
        suite::unreliable_rpc::<Reference>();
    }
}

/// 6.5840: TestCrashWorker. Workers that die or stall a third of the time each, replaced as
/// they die: the output must be exact. Its time limit is 300 s of virtual time, not 120 s (see
/// `suite::CRASH_TIME_LIMIT`).
#[test]
fn crash_worker_1() {
    labs::harness::run_test_with(
        labs::test_info!("crash_worker_1"),
        |b| b.time_limit(suite::CRASH_TIME_LIMIT),
        suite::crash_worker::<Reference>,
    );
}
