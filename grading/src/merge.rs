//! `grade merge`: combine the results of `grade run --shard i/n` jobs into one.
//!
//! A course can split one grading job across the machines of its CI system or batch
//! cluster: each machine runs `grade run --shard i/n` with the same options, and `grade
//! merge` combines their `results.json` files. The merged results are scored by the same
//! code as an unsharded run, so the scoreboard is identical to running the whole job on one
//! machine. To keep that promise, merge refuses shards that ran with different settings or
//! catalogues, duplicate shards, and an incomplete set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::GradeError;
use crate::output::{self, absolute};
use crate::results::{self, Mode, Results, Shard};

/// Why shard results cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A results file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A results file is not valid `results.json`.
    #[error("{} is not a results.json written by grade: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        message: String,
    },
    /// A results file has another format version.
    #[error("{} has results format {found}, this grader reads format {expected}; merge with the grader that wrote it", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// This grader's format.
        expected: u32,
    },
    /// A results file is not from a sharded run.
    #[error("{} is not one shard's results (it was not run with --shard i/n); merge only the results of shards", path.display())]
    NotShard {
        /// The file.
        path: PathBuf,
    },
    /// The shards do not belong to one job.
    #[error("{} does not belong to the same job as {}: {what} differ(s); every shard must run with the same options, catalogue and code", path.display(), first.display())]
    Mismatch {
        /// The file that differs.
        path: PathBuf,
        /// The first file, which it was compared with.
        first: PathBuf,
        /// What differs.
        what: String,
    },
    /// The same shard was given twice.
    #[error("shard {shard} is given twice ({} and {}); give each shard's results once", first.display(), second.display())]
    Duplicate {
        /// The shard.
        shard: Shard,
        /// Its first file.
        first: PathBuf,
        /// Its second file.
        second: PathBuf,
    },
    /// Not every shard was given.
    #[error("shard(s) {} of {count} are missing; pass the results.json of every shard", missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The missing shard indices.
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
    /// The runs of the shards do not add up to the job.
    #[error(
        "the shards' runs of `{test}` do not add up: {found} run(s), expected {expected}{detail}; were the shards run from different builds?"
    )]
    Runs {
        /// The test.
        test: String,
        /// Runs found.
        found: usize,
        /// Runs expected.
        expected: u32,
        /// More detail.
        detail: String,
    },
    /// The output folder holds an input.
    #[error("the output folder {} holds the input {}; merging would delete it. Choose another --out", out.display(), input.display())]
    OutputHoldsInput {
        /// The output folder.
        out: PathBuf,
        /// The input.
        input: PathBuf,
    },
}

/// Reads and merges the shard results at `inputs`, writes the merged results folder at
/// `out`, and returns the merged results.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Results, GradeError> {
    let mut shards: Vec<(PathBuf, Results)> = Vec::new();
    for path in inputs {
        let text = std::fs::read_to_string(path)
            .map_err(|source| MergeError::Read { path: path.clone(), source })?;
        let results: Results = serde_json::from_str(&text)
            .map_err(|e| MergeError::Parse { path: path.clone(), message: e.to_string() })?;
        if results.format != results::FORMAT {
            return Err(MergeError::Format {
                path: path.clone(),
                found: results.format,
                expected: results::FORMAT,
            }
            .into());
        }
        if results.shard.is_none() {
            return Err(MergeError::NotShard { path: path.clone() }.into());
        }
        shards.push((path.clone(), results));
    }
    let merged = combine(&shards)?;

    let out_abs = absolute(out);
    for (path, _) in &shards {
        let input = absolute(path);
        if input.starts_with(&out_abs) {
            return Err(MergeError::OutputHoldsInput { out: out.to_path_buf(), input: path.clone() }.into());
        }
    }
    output::prepare(out)?;
    for (path, results) in &shards {
        let dir = path.parent().unwrap_or(Path::new("."));
        for log in results.tests.iter().flat_map(|t| &t.runs).filter_map(|r| r.log.as_ref()) {
            // Logs are written by grade as `<test>/<seed>.log`; never follow anything else out
            // of the results folders.
            let plain = Path::new(log).components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain {
                eprintln!(
                    "grade merge: {} names the log `{log}`, which is not a path inside its folder; it is left out",
                    path.display()
                );
                continue;
            }
            let dest = out.join(log);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|source| GradeError::Output { path: parent.to_path_buf(), source })?;
            }
            if let Err(e) = std::fs::copy(dir.join(log), &dest) {
                eprintln!(
                    "grade merge: the log {log} of {} cannot be copied ({e}); it is left out",
                    path.display()
                );
            }
        }
    }
    output::write_reports(&merged, out)?;
    Ok(merged)
}

/// Combines shard results (already read) into the results of the whole job.
pub fn combine(shards: &[(PathBuf, Results)]) -> Result<Results, MergeError> {
    let Some((first_path, first)) = shards.first() else {
        return Err(MergeError::Missing { missing: Vec::new(), count: 0 });
    };
    let count = first.shard.map_or(1, |s| s.count);
    let mut by_index: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    for (path, results) in shards {
        let Some(shard) = results.shard else {
            return Err(MergeError::NotShard { path: path.clone() });
        };
        let mismatch = |what: &str| MergeError::Mismatch {
            path: path.clone(),
            first: first_path.clone(),
            what: what.to_string(),
        };
        if shard.count != count {
            return Err(mismatch("the shard count (i/n)"));
        }
        if results.settings != first.settings {
            return Err(mismatch("the settings (seeds, real runs, timeout, filters, catalogue)"));
        }
        if results.tests.len() != first.tests.len()
            || results.tests.iter().zip(&first.tests).any(|(a, b)| {
                (&a.part, &a.package, &a.binary, &a.test, a.points, a.planned_runs, &a.log_dir)
                    != (&b.part, &b.package, &b.binary, &b.test, b.points, b.planned_runs, &b.log_dir)
            })
        {
            return Err(mismatch("the graded tests"));
        }
        if results.skipped != first.skipped {
            return Err(mismatch("the skipped catalogue entries"));
        }
        if results.submission.as_ref().map(|s| (&s.copied, &s.ignored))
            != first.submission.as_ref().map(|s| (&s.copied, &s.ignored))
            || results.rules != first.rules
            || results.build_failure != first.build_failure
        {
            return Err(mismatch("the submission (its student files, ignored files, rules or build)"));
        }
        if let Some(previous) = by_index.insert(shard.index, path) {
            return Err(MergeError::Duplicate { shard, first: previous.clone(), second: path.clone() });
        }
    }
    let missing: Vec<u32> = (1..=count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }

    let seed_rank: BTreeMap<u64, usize> =
        first.settings.seeds.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let rank = |mode: &Mode| match mode {
        Mode::Sim { seed } => (0, seed_rank.get(seed).copied().unwrap_or(usize::MAX), 0),
        Mode::Real { index } => (1, 0, *index),
    };
    let mut merged = first.clone();
    merged.shard = None;
    merged.merged_from = shards.iter().filter_map(|(_, r)| r.shard).collect();
    merged.merged_from.sort();
    merged.wall_secs = shards.iter().map(|(_, r)| r.wall_secs).fold(0.0, |a, b| a + b);
    let mut networks: Vec<&str> = shards.iter().map(|(_, r)| r.network.as_str()).collect();
    networks.sort_unstable();
    networks.dedup();
    if networks.len() > 1 {
        merged.network = format!("differs between shards: {}", networks.join("; "));
    }
    for (i, test) in merged.tests.iter_mut().enumerate() {
        test.runs = shards.iter().flat_map(|(_, r)| r.tests[i].runs.iter().cloned()).collect();
        test.runs.sort_by_key(|r| rank(&r.mode));
        let duplicated = test.runs.windows(2).any(|w| w[0].mode == w[1].mode);
        if duplicated || test.runs.len() != test.planned_runs as usize {
            return Err(MergeError::Runs {
                test: test.test.clone(),
                found: test.runs.len(),
                expected: test.planned_runs,
                detail: if duplicated { ", some of them twice".to_string() } else { String::new() },
            });
        }
    }
    merged.score = merged.compute_score();
    Ok(merged)
}
