//! Turning the search's results into a verdict a person can read: the [`Report`], the
//! [`CheckResult`] and, for a history that is not linearizable, the [`Explanation`].
//!
//! The search works on interned ids; this module maps them back to words through the model's
//! `describe_*` functions, only when something needs to be shown.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::checker::{Outcome, PartResult, sorted_events};
use super::{Model, Operation, Partition, visualize};

/// How one partition's check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PartitionStatus {
    /// A linearization was found.
    Linearizable,
    /// There is no linearization.
    NotLinearizable,
    /// The budget ran out first.
    TimedOut,
    /// Not checked to the end, because an earlier partition is not linearizable.
    Skipped,
}

impl PartitionStatus {
    fn as_str(self) -> &'static str {
        match self {
            PartitionStatus::Linearizable => "linearizable",
            PartitionStatus::NotLinearizable => "not linearizable",
            PartitionStatus::TimedOut => "timed out",
            PartitionStatus::Skipped => "skipped",
        }
    }
}

/// One operation, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedOp {
    /// Its index in the history that was checked.
    pub index: usize,
    /// The client that issued it.
    pub client: usize,
    /// Its call time.
    pub call: u64,
    /// Its return time (`None`: it never returned).
    pub ret: Option<u64>,
    /// The model's description of it.
    pub description: String,
}

impl fmt::Display for DescribedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ret {
            Some(ret) => write!(f, "client {} [{}, {}]: {}", self.client, self.call, ret, self.description),
            None => write!(f, "client {} [{}, never]: {}", self.client, self.call, self.description),
        }
    }
}

/// An operation placed in a linearization, with the state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearizedOp {
    /// The operation.
    pub op: DescribedOp,
    /// The model state right after it, in words.
    pub state_after: String,
}

/// Why a history is not linearizable, for its first failing partition.
///
/// The search found no order of the partition's operations that respects real time and the
/// model. `prefix` is the longest order it could build; after it, every operation that could come
/// next (called before `deadline` returned) is illegal in the state reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The failing partition's name (e.g. `key "x"`).
    pub partition: String,
    /// How many operations the partition has.
    pub partition_ops: usize,
    /// The initial state, in words.
    pub initial_state: String,
    /// The longest linearizable prefix, in order.
    pub prefix: Vec<LinearizedOp>,
    /// The state after the prefix, in words.
    pub state: String,
    /// The operations that could come next, none of which is legal in `state`.
    pub candidates: Vec<DescribedOp>,
    /// The pending operation that returns first: one of the candidates had to take effect before
    /// it returned.
    pub deadline: Option<DescribedOp>,
}

/// How many steps of the prefix `Display` shows (the struct has them all).
const SHOWN_PREFIX: usize = 12;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({} operations) has no linearization.", self.partition, self.partition_ops)?;
        writeln!(
            f,
            "Longest linearizable prefix: {} of {} operations, from the initial state {}:",
            self.prefix.len(),
            self.partition_ops,
            self.initial_state
        )?;
        let skip = self.prefix.len().saturating_sub(SHOWN_PREFIX);
        if skip > 0 {
            writeln!(f, "  ... ({skip} earlier operations)")?;
        }
        for (i, step) in self.prefix.iter().enumerate().skip(skip) {
            writeln!(f, "  {:>3}. {}  => {}", i + 1, step.op, step.state_after)?;
        }
        writeln!(
            f,
            "After it the state is {}, and no operation that could come next is legal there:",
            self.state
        )?;
        for c in &self.candidates {
            writeln!(f, "       {c}")?;
        }
        if let Some(d) = &self.deadline {
            write!(
                f,
                "yet one of them had to take effect before {} (client {}) returned at {}.",
                d.description,
                d.client,
                d.ret.map_or_else(|| "never".to_string(), |r| r.to_string())
            )?;
        }
        Ok(())
    }
}

/// The verdict of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// Every partition has a linearization.
    Linearizable,
    /// Some partition has none; the explanation is for the first such partition.
    NotLinearizable(Box<Explanation>),
    /// The budget ran out before a verdict (time, or the memory cap of a partition's search).
    /// This is not a pass.
    Unknown {
        /// The budget that ran out.
        budget: Duration,
    },
}

impl CheckResult {
    /// True only for [`CheckResult::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, CheckResult::Linearizable)
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResult::Linearizable => write!(f, "history is linearizable"),
            CheckResult::NotLinearizable(e) => write!(f, "history is not linearizable: {e}"),
            CheckResult::Unknown { budget } => write!(
                f,
                "linearizability check did not finish within its budget of {budget:?}: \
                 the history may or may not be linearizable, and this is not a pass"
            ),
        }
    }
}

/// A summary of one partition's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    /// The partition's name.
    pub name: String,
    /// Its number of operations.
    pub ops: usize,
    /// How its check ended.
    pub status: PartitionStatus,
    /// How many (linearized set, state) pairs the search explored (for a skipped partition,
    /// however far it got, which may vary from run to run).
    pub explored: usize,
}

/// The outcome of a check: the verdict, timing, per-partition summaries, and what is needed to
/// draw the history.
#[derive(Debug, Clone)]
pub struct Report {
    result: CheckResult,
    elapsed: Duration,
    budget: Duration,
    partitions: Vec<PartitionSummary>,
    vis: Option<DeferredVis>,
}

/// What the visualisation needs, kept aside so that its descriptions (a string per operation
/// and per state, the bulk of a failing check's cost) are only built when a page is written.
#[derive(Clone)]
struct DeferredVis(Arc<dyn VisSource>);

impl fmt::Debug for DeferredVis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeferredVis(..)")
    }
}

/// Builds the visualisation's data for a verdict.
trait VisSource: Send + Sync {
    fn build(&self, result: &CheckResult) -> VisData;
}

/// A check's model, history and search results, owned.
struct VisInputs<M: Model> {
    model: M,
    ops: Vec<Operation<M::Input, M::Output>>,
    parts: Vec<Partition>,
    results: Vec<PartResult<M::State>>,
}

impl<M: Model> VisSource for VisInputs<M> {
    fn build(&self, result: &CheckResult) -> VisData {
        VisData {
            verdict: match result {
                CheckResult::Linearizable => "linearizable".to_string(),
                CheckResult::NotLinearizable(_) => "not linearizable".to_string(),
                CheckResult::Unknown { budget } => format!("unknown: budget of {budget:?} ran out"),
            },
            explanation: result.to_string(),
            partitions: self
                .parts
                .iter()
                .zip(&self.results)
                .map(|(p, r)| vis_partition(&self.model, &self.ops, p, r, status_of(r.outcome)))
                .collect(),
        }
    }
}

impl Report {
    /// The verdict.
    pub fn result(&self) -> &CheckResult {
        &self.result
    }

    /// The verdict, by value.
    pub fn into_result(self) -> CheckResult {
        self.result
    }

    /// True only if the history was found linearizable.
    pub fn is_linearizable(&self) -> bool {
        self.result.is_linearizable()
    }

    /// Wall-clock time the check took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The budget the check ran under.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// One summary per partition, in the model's partition order.
    pub fn partitions(&self) -> &[PartitionSummary] {
        &self.partitions
    }

    /// Writes the HTML visualisation of the history to `path`: one self-contained file.
    #[allow(
        clippy::disallowed_methods,
        reason = "not lab code: the visualisation is a file on the real disk"
    )]
    pub fn write_visualization(&self, path: &Path) -> io::Result<()> {
        let html = match &self.vis {
            Some(vis) => visualize::render(&vis.0.build(&self.result)),
            None => visualize::render(&VisData {
                verdict: "linearizable".to_string(),
                explanation: "The history is linearizable. Use Checker::describe_always(true) to \
                              draw linearizable histories."
                    .to_string(),
                partitions: Vec::new(),
            }),
        };
        std::fs::write(path, html)
    }

    /// Writes the visualisation to a new file under the system's temporary directory
    /// (`<tmp>/distlab-porcupine/history-<pid>-<n>.html`) and returns its path.
    #[allow(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "not lab code: the visualisation is a file on the real disk"
    )]
    pub fn write_visualization_to_temp(&self) -> io::Result<PathBuf> {
        let dir = std::env::temp_dir().join("distlab-porcupine");
        std::fs::create_dir_all(&dir)?;
        let pid = std::process::id();
        for n in 0u64.. {
            let path = dir.join(format!("history-{pid}-{n}.html"));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => {
                    self.write_visualization(&path)?;
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("u64 file names ran out")
    }

    /// `Ok` if the history is linearizable. Otherwise writes the visualisation to a temporary
    /// file and returns a message with the verdict, its explanation and the file's path, ready
    /// for a suite to fail with.
    pub fn require_linearizable(&self) -> Result<(), String> {
        if self.is_linearizable() {
            return Ok(());
        }
        let vis = match self.write_visualization_to_temp() {
            Ok(path) => format!("info: wrote history visualization to {}", path.display()),
            Err(e) => format!("info: could not write the history visualization: {e}"),
        };
        Err(format!("{self}\n{vis}"))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.result)?;
        if let CheckResult::Unknown { .. } = self.result {
            let open: Vec<String> = self
                .partitions
                .iter()
                .filter(|p| p.status == PartitionStatus::TimedOut)
                .map(|p| format!("{} ({} operations)", p.name, p.ops))
                .collect();
            write!(f, "\nunfinished: {}", open.join(", "))?;
        }
        Ok(())
    }
}

/// What the visualisation draws (serialised into the HTML page as JSON).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VisData {
    pub(crate) verdict: String,
    pub(crate) explanation: String,
    pub(crate) partitions: Vec<VisPartition>,
}

/// One partition in the visualisation. Times are drawn by rank (event order), not to scale.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VisPartition {
    pub(crate) name: String,
    pub(crate) status: &'static str,
    pub(crate) explored: usize,
    pub(crate) init: String,
    /// Number of distinct finite times (ranks 0..ranks).
    pub(crate) ranks: usize,
    pub(crate) ops: Vec<VisOp>,
    /// The longest linearization found: (local op index, state after).
    pub(crate) lin: Vec<VisStep>,
    /// Operations that could come next after `lin`: (local op index, legal there).
    pub(crate) next: Vec<(usize, bool)>,
    /// Rank of the return by which one of `next` had to take effect.
    pub(crate) fail_rank: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct VisOp {
    /// Index in the history.
    pub(crate) index: usize,
    pub(crate) client: usize,
    pub(crate) call_rank: usize,
    /// `None`: never returned.
    pub(crate) ret_rank: Option<usize>,
    pub(crate) call: String,
    pub(crate) ret: String,
    pub(crate) desc: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct VisStep {
    pub(crate) op: usize,
    pub(crate) state: String,
}

/// Where the search of a partition stopped: the state after the longest prefix, the operations
/// that could come next (local indices) and the first pending return.
struct Frontier {
    state: u32,
    next: Vec<u32>,
    deadline: Option<u32>,
}

fn frontier<I, O, S>(ops: &[Operation<I, O>], part: &Partition, res: &PartResult<S>) -> Frontier {
    let mut placed = vec![false; part.ops.len()];
    for &(op, _) in &res.best {
        placed[op as usize] = true;
    }
    let state = res.best.last().map_or(0, |&(_, s)| s);
    let mut next = Vec::new();
    let mut deadline = None;
    for (_, kind, op) in sorted_events(ops, &part.ops) {
        if placed[op as usize] {
            continue;
        }
        if kind == 0 {
            next.push(op);
        } else {
            deadline = Some(op);
            break;
        }
    }
    Frontier { state, next, deadline }
}

fn describe<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], index: usize) -> DescribedOp {
    let op = &ops[index];
    DescribedOp {
        index,
        client: op.client(),
        call: op.call(),
        ret: op.ret(),
        description: model.describe_operation(op.input(), op.output()),
    }
}

fn explain<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &Partition,
    res: &PartResult<M::State>,
) -> Explanation {
    let fr = frontier(ops, part, res);
    Explanation {
        partition: part.name.clone(),
        partition_ops: part.ops.len(),
        initial_state: model.describe_state(&res.states[0]),
        prefix: res
            .best
            .iter()
            .map(|&(op, s)| LinearizedOp {
                op: describe(model, ops, part.ops[op as usize]),
                state_after: model.describe_state(&res.states[s as usize]),
            })
            .collect(),
        state: model.describe_state(&res.states[fr.state as usize]),
        candidates: fr.next.iter().map(|&op| describe(model, ops, part.ops[op as usize])).collect(),
        deadline: fr.deadline.map(|op| describe(model, ops, part.ops[op as usize])),
    }
}

fn vis_partition<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &Partition,
    res: &PartResult<M::State>,
    status: PartitionStatus,
) -> VisPartition {
    let mut times: Vec<u64> = part
        .ops
        .iter()
        .flat_map(|&g| [ops[g].call(), ops[g].ret_or_never()])
        .filter(|&t| t != super::NEVER)
        .collect();
    times.sort_unstable();
    times.dedup();
    let rank = |t: u64| times.binary_search(&t).ok();
    let vis_ops = part
        .ops
        .iter()
        .map(|&g| {
            let op = &ops[g];
            VisOp {
                index: g,
                client: op.client(),
                call_rank: rank(op.call()).unwrap_or(0),
                ret_rank: op.ret().and_then(rank),
                call: op.call().to_string(),
                ret: op.ret().map_or_else(|| "never".to_string(), |r| r.to_string()),
                desc: model.describe_operation(op.input(), op.output()),
            }
        })
        .collect();
    let fr = frontier(ops, part, res);
    let (next, fail_rank) = if status == PartitionStatus::Linearizable {
        (Vec::new(), None)
    } else {
        let state = &res.states[fr.state as usize];
        let next = fr
            .next
            .iter()
            .map(|&op| {
                let o = &ops[part.ops[op as usize]];
                (op as usize, model.step(state, o.input(), o.output()).is_some())
            })
            .collect();
        let fail = fr.deadline.and_then(|op| ops[part.ops[op as usize]].ret()).and_then(rank);
        (next, fail)
    };
    VisPartition {
        name: part.name.clone(),
        status: status.as_str(),
        explored: res.explored,
        init: model.describe_state(&res.states[0]),
        ranks: times.len(),
        ops: vis_ops,
        lin: res
            .best
            .iter()
            .map(|&(op, s)| VisStep { op: op as usize, state: model.describe_state(&res.states[s as usize]) })
            .collect(),
        next,
        fail_rank,
    }
}

fn status_of(outcome: Outcome) -> PartitionStatus {
    match outcome {
        Outcome::Linearizable => PartitionStatus::Linearizable,
        Outcome::Illegal => PartitionStatus::NotLinearizable,
        Outcome::TimedOut => PartitionStatus::TimedOut,
        Outcome::Skipped => PartitionStatus::Skipped,
    }
}

/// Builds the report from the per-partition search results.
pub(crate) fn build_report<M: Model>(
    model: &M,
    ops: std::borrow::Cow<'_, [Operation<M::Input, M::Output>]>,
    parts: Vec<Partition>,
    results: Vec<PartResult<M::State>>,
    elapsed: Duration,
    budget: Duration,
    describe_always: bool,
) -> Report {
    let summaries: Vec<PartitionSummary> = parts
        .iter()
        .zip(&results)
        .map(|(p, r)| PartitionSummary {
            name: p.name.clone(),
            ops: p.ops.len(),
            status: status_of(r.outcome),
            explored: r.explored,
        })
        .collect();
    let result = if let Some(p) = results.iter().position(|r| r.outcome == Outcome::Illegal) {
        CheckResult::NotLinearizable(Box::new(explain(model, &ops, &parts[p], &results[p])))
    } else if results.iter().any(|r| r.outcome != Outcome::Linearizable) {
        CheckResult::Unknown { budget }
    } else {
        CheckResult::Linearizable
    };
    let vis = (describe_always || !result.is_linearizable()).then(|| {
        DeferredVis(Arc::new(VisInputs { model: model.clone(), ops: ops.into_owned(), parts, results }))
    });
    Report { result, elapsed, budget, partitions: summaries, vis }
}
