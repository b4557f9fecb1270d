//! The terminal log viewer: a run's events in one column per node, on one time axis.
//!
//! A report page needs a browser; a student on a remote machine has a terminal. This prints the
//! same events (from a `.events.jsonl` file or a `.html` report) with the time at the left and
//! each event in its node's column, so that what the servers did at the same moment reads
//! across one line. Filters narrow it down by node, log level, topic, text and time window.
//!
//! The logic lives here rather than in the `lablog` binary so that `grade logs <file>` can run
//! it too: see [`main_with_args`], or [`parse_args`] + [`render`] for finer control. The command
//! line is clap's.

use super::{LEVELS, Loaded, level_rank, node_order};
use crate::events::{Event, EventKind, RpcFate};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// A kind of event, for `--topic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    /// RPCs (shown in the caller's column).
    Rpc,
    /// `tracing` log lines.
    Log,
    /// Role, term and commit index changes.
    State,
    /// Network faults, crashes and starts.
    Fault,
    /// Client operations and the checker's verdict.
    Op,
    /// Tester notes.
    Note,
}

impl Topic {
    /// Every topic, in the order `--help` lists them.
    pub const ALL: [Topic; 6] = [Topic::Rpc, Topic::Log, Topic::State, Topic::Fault, Topic::Op, Topic::Note];

    /// The topic's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Rpc => "rpc",
            Topic::Log => "log",
            Topic::State => "state",
            Topic::Fault => "fault",
            Topic::Op => "op",
            Topic::Note => "note",
        }
    }

    /// The topic called `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The topic of an event.
    pub fn of(kind: &EventKind) -> Topic {
        match kind {
            EventKind::Rpc { .. } => Topic::Rpc,
            EventKind::Log { .. } => Topic::Log,
            EventKind::State { .. } => Topic::State,
            EventKind::Fault { .. } | EventKind::Crash | EventKind::Start => Topic::Fault,
            EventKind::Op { .. } | EventKind::Verdict { .. } => Topic::Op,
            EventKind::Note { .. } => Topic::Note,
        }
    }
}

/// What to show and how.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewOptions {
    /// Only these nodes (empty: every node).
    pub nodes: Vec<String>,
    /// Hide log lines below this level (an index into [`LEVELS`]); other events are unaffected.
    pub min_level: u8,
    /// Only these topics (empty: every topic).
    pub topics: Vec<Topic>,
    /// Only events whose node or text contains this (case-insensitive).
    pub grep: Option<String>,
    /// Only events at or after this time (ms).
    pub from_ms: Option<f64>,
    /// Only events at or before this time (ms).
    pub to_ms: Option<f64>,
    /// Total line width in characters.
    pub width: usize,
    /// Whether to write ANSI colors.
    pub color: bool,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            nodes: Vec::new(),
            min_level: 0,
            topics: Vec::new(),
            grep: None,
            from_ms: None,
            to_ms: None,
            width: 160,
            color: false,
        }
    }
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Print the usage text.
    Help,
    /// View `file` with `options`.
    View {
        /// A `.events.jsonl` file or a `.html` report.
        file: PathBuf,
        /// How to show it.
        options: ViewOptions,
    },
}

/// `lablog`'s command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "lablog",
    about = "Shows a distlab run's events in one column per node.",
    after_help = "Pipe long output through `less -R` to keep the colors."
)]
struct Args {
    /// A report's .events.jsonl file, or the .html report itself.
    file: PathBuf,
    /// Show only this node (repeatable).
    #[arg(long, value_name = "NAME")]
    node: Vec<String>,
    /// Hide log lines below LEVEL: trace, debug, info, warn, error.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    level: Option<u8>,
    /// Show only this topic (repeatable, or comma-separated): rpc, log, state, fault, op, note.
    #[arg(long, value_name = "TOPIC", value_delimiter = ',', value_parser = parse_topic)]
    topic: Vec<Topic>,
    /// Show only events whose node or text contains TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// Show only events at or after MS milliseconds.
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    from: Option<f64>,
    /// Show only events at or before MS milliseconds.
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    to: Option<f64>,
    /// Line width in characters [default: $COLUMNS or 160].
    #[arg(long, value_name = "N", value_parser = parse_width)]
    width: Option<usize>,
    /// No ANSI colors (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, visible_alias = "no-colour")]
    no_color: bool,
}

fn parse_level(v: &str) -> Result<u8, String> {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(v))
        .map(|p| p as u8)
        .ok_or_else(|| format!("unknown level '{v}': use one of trace, debug, info, warn, error"))
}

fn parse_topic(v: &str) -> Result<Topic, String> {
    Topic::parse(v).ok_or_else(|| format!("unknown topic '{v}': use one of rpc, log, state, fault, op, note"))
}

fn parse_ms(v: &str) -> Result<f64, String> {
    v.trim()
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("takes milliseconds (a number >= 0, e.g. 1500.25), not '{v}'"))
}

fn parse_width(v: &str) -> Result<usize, String> {
    v.trim()
        .parse()
        .ok()
        .filter(|w| *w >= 40)
        .ok_or_else(|| format!("takes a number of characters >= 40, not '{v}'"))
}

/// The usage text (`lablog --help`).
pub fn usage() -> String {
    <Args as clap::CommandFactory>::command().render_help().to_string()
}

/// A command-line mistake, in words, with the usage line (as clap renders it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses the arguments (without the program name). Colors are on here unless `--no-color` is
/// given; [`main_with_args`] also turns them off for `NO_COLOR` and for a non-terminal stdout.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, UsageError> {
    use clap::Parser as _;
    let a = match Args::try_parse_from(std::iter::once("lablog".to_string()).chain(args)) {
        Ok(a) => a,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return Ok(Command::Help),
        Err(e) => return Err(UsageError(e.render().to_string().trim_end().to_string())),
    };
    if let (Some(from), Some(to)) = (a.from, a.to)
        && from > to
    {
        return Err(UsageError(format!("error: --from {from} is after --to {to}")));
    }
    let mut topics = Vec::new();
    for t in a.topic {
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    let columns = || std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok());
    let options = ViewOptions {
        nodes: a.node,
        min_level: a.level.unwrap_or(0),
        topics,
        grep: a.grep,
        from_ms: a.from,
        to_ms: a.to,
        width: a.width.or_else(columns).unwrap_or(160),
        color: !a.no_color,
    };
    Ok(Command::View { file: a.file, options })
}

fn fate_word(f: &RpcFate) -> &'static str {
    match f {
        RpcFate::Delivered => "ok",
        RpcFate::RequestDropped => "DROPPED-REQUEST",
        RpcFate::ReplyDropped => "DROPPED-REPLY",
        RpcFate::Unreachable => "UNREACHABLE",
        RpcFate::ServerDead => "SERVER-DEAD",
        RpcFate::Error => "ERROR",
    }
}

/// Milliseconds from nanoseconds, for display.
fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// One event in words, as its column shows it (without the node and the time).
pub fn describe(kind: &EventKind, t: u64) -> String {
    match kind {
        EventKind::Rpc { to, method, done, fate, bytes, delayed } => format!(
            "-> {to} {}{} {method} {:.2}ms {bytes}B",
            fate_word(fate),
            if *delayed { "+delayed" } else { "" },
            ms(done.saturating_sub(t))
        ),
        EventKind::Crash => "** CRASH **".to_string(),
        EventKind::Start => "start".to_string(),
        EventKind::Fault { what } => format!("!! {what}"),
        EventKind::State { role, term, commit } => format!("{role} term={term} commit={commit}"),
        EventKind::Log { level, message, .. } => format!("{:<5} {message}", level.to_ascii_uppercase()),
        EventKind::Op { client, ret, desc } => match ret {
            Some(r) => format!("op c{client} {desc} [{:.2}ms]", ms(r.saturating_sub(t))),
            None => format!("op c{client} {desc} [no reply]"),
        },
        EventKind::Note { text } => format!("# {text}"),
        EventKind::Verdict { ok: true, text } => format!("VERDICT passed: {text}"),
        EventKind::Verdict { ok: false, text } => format!("VERDICT FAILED: {text}"),
    }
}

/// The text `--grep` searches: the description plus a log line's target.
fn searchable(e: &Event) -> String {
    let mut s = format!("{} {}", e.node, describe(&e.kind, e.t));
    if let EventKind::Log { target, .. } = &e.kind {
        s.push(' ');
        s.push_str(target);
    }
    s.to_lowercase()
}

/// Whether `e` passes every filter of `o`.
pub fn keep(e: &Event, o: &ViewOptions) -> bool {
    if !o.nodes.is_empty() && !o.nodes.contains(&e.node) {
        return false;
    }
    if !o.topics.is_empty() && !o.topics.contains(&Topic::of(&e.kind)) {
        return false;
    }
    if let EventKind::Log { level, .. } = &e.kind
        && level_rank(level) < o.min_level
    {
        return false;
    }
    let t = ms(e.t);
    if o.from_ms.is_some_and(|f| t < f) || o.to_ms.is_some_and(|to| t > to) {
        return false;
    }
    match &o.grep {
        Some(g) if !g.is_empty() => searchable(e).contains(&g.to_lowercase()),
        _ => true,
    }
}

const RESET: &str = "\x1b[0m";
/// Column colors, one per node in turn: cyan, yellow, magenta, green, blue, bright cyan, ...
const NODE_COLORS: [&str; 8] = ["36", "33", "35", "32", "34", "96", "93", "95"];

/// The color of an event's text: its node's, unless the event is alarming.
fn event_color(kind: &EventKind, node_color: &'static str) -> &'static str {
    match kind {
        EventKind::Rpc { fate: RpcFate::Delivered, .. } => node_color,
        EventKind::Rpc { .. } => "31",
        EventKind::Crash => "1;41;97",
        EventKind::Start => "1;32",
        EventKind::Fault { .. } => "1;35",
        EventKind::Log { level, .. } => match level_rank(level) {
            4 => "1;31",
            3 => "33;1",
            0 | 1 => "2",
            _ => node_color,
        },
        EventKind::State { role, .. } if role.eq_ignore_ascii_case("leader") => "1;32",
        EventKind::Verdict { ok: false, .. } => "1;31",
        EventKind::Verdict { ok: true, .. } => "1;32",
        _ => node_color,
    }
}

/// `s` on one line and without control characters: a newline shows as `\n`, a tab as a space,
/// and any other control character (an escape sequence in a log message, say) as `?`, so that
/// no message can break the columns or drive the terminal.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '\t' => out.push(' '),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Truncates `s` to `w` characters (marking a cut with `~`) and pads it to exactly `w`.
fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        let mut out = s.to_string();
        out.extend(std::iter::repeat_n(' ', w - n));
        out
    } else if w == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(w - 1).collect();
        out.push('~');
        out
    }
}

/// `s` in lines of at most `w` characters, broken at spaces where it can be; the lines after
/// the first are indented by two spaces.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(4);
    let mut out = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    loop {
        let room = if out.is_empty() { w } else { w - 2 };
        if rest.len() <= room {
            let piece: String = rest.iter().collect();
            out.push(if out.is_empty() { piece } else { format!("  {piece}") });
            return out;
        }
        // The last space that leaves a piece at least half as wide as the room, else a hard cut.
        let cut = (room / 2..=room).rev().find(|&i| rest[i] == ' ').unwrap_or(room);
        let piece: String = rest[..cut].iter().collect();
        out.push(if out.is_empty() { piece } else { format!("  {piece}") });
        rest = rest[cut..].iter().copied().skip_while(|c| *c == ' ').collect();
        if rest.is_empty() {
            return out;
        }
    }
}

/// Width of the time column: `123456.789` (ms).
const TIME_W: usize = 11;
const SEP: &str = " | ";

/// Renders `events` as lines: a header of node names, a rule, then one line per event that
/// passes the filters, each in its node's column (an RPC too long for the line goes on over
/// more lines), and a last line counting what was shown. Lines carry ANSI colors only if
/// `o.color`.
pub fn render(events: &[Event], o: &ViewOptions) -> Vec<String> {
    let mut order: Vec<usize> = (0..events.len()).filter(|&i| keep(&events[i], o)).collect();
    order.sort_by_key(|&i| events[i].t);
    // Columns: the asked-for nodes in their order, else every node that has a shown event.
    let mut cols: Vec<&str> = if o.nodes.is_empty() {
        let mut c: Vec<&str> = order.iter().map(|&i| events[i].node.as_str()).collect();
        c.sort_by(|a, b| node_order(a, b));
        c.dedup();
        c
    } else {
        o.nodes.iter().map(String::as_str).collect()
    };
    if cols.is_empty() {
        cols.push("(no events)");
    }
    let n = cols.len();
    let col_w = (o.width.saturating_sub(TIME_W + n * SEP.len()) / n).max(12);
    let paint = |code: &str, s: &str| if o.color { format!("\x1b[{code}m{s}{RESET}") } else { s.to_string() };
    let mut lines = Vec::with_capacity(order.len() + 3);
    let mut header = fit("time ms", TIME_W);
    for (i, c) in cols.iter().enumerate() {
        header.push_str(SEP);
        header.push_str(&paint(
            &format!("1;{}", NODE_COLORS[i % NODE_COLORS.len()]),
            &fit(&one_line(c), col_w),
        ));
    }
    lines.push(if o.color {
        format!("\x1b[1m{}{RESET}", header.trim_end())
    } else {
        header.trim_end().to_string()
    });
    let mut rule = "-".repeat(TIME_W);
    for _ in 0..n {
        rule.push_str("-+-");
        rule.push_str(&"-".repeat(col_w));
    }
    lines.push(paint("2", &rule));
    for &i in &order {
        let e = &events[i];
        let Some(col) = cols.iter().position(|c| *c == e.node) else { continue };
        // Each line holds one event, so its text may run on over the empty columns to its right.
        let room = col_w + (n - 1 - col) * (SEP.len() + col_w);
        let text = one_line(&describe(&e.kind, e.t));
        // An RPC's cell is what a student reads a failure by: wrapped onto more lines rather
        // than cut; other long text is cut, marked with `~`.
        let pieces =
            if matches!(e.kind, EventKind::Rpc { .. }) { wrap(&text, room) } else { vec![fit(&text, room)] };
        let node_color = NODE_COLORS[col % NODE_COLORS.len()];
        for (k, piece) in pieces.iter().enumerate() {
            let mut line = if k == 0 {
                paint("2", &format!("{:>w$.3}", ms(e.t), w = TIME_W))
            } else {
                " ".repeat(TIME_W)
            };
            for _ in 0..col {
                line.push_str(SEP);
                line.push_str(&" ".repeat(col_w));
            }
            line.push_str(SEP);
            line.push_str(&paint(event_color(&e.kind, node_color), piece.trim_end()));
            lines.push(line);
        }
    }
    lines.push(paint("2", &format!("-- {} of {} events shown", order.len(), events.len())));
    lines
}

/// The lines before the columns for a run read from a report: test, seed, failure, replay.
pub fn preamble(loaded: &Loaded, color: bool) -> Vec<String> {
    let Some(m) = &loaded.meta else { return Vec::new() };
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}{RESET}") } else { s.to_string() };
    let mut out = vec![format!(
        "{}  seed {}  backend {}",
        paint("1", &one_line(&m.title)),
        m.seed,
        one_line(&m.backend)
    )];
    match &m.failure {
        Some(f) => {
            for (i, l) in f.lines().enumerate() {
                let l = one_line(l);
                out.push(paint("1;31", &format!("{}{l}", if i == 0 { "FAILED: " } else { "        " })));
            }
        }
        None => out.push(paint("1;32", "PASSED")),
    }
    if !m.replay.is_empty() {
        out.push(format!("replay: {}", one_line(&m.replay)));
    }
    if let Some(r) = &m.recorded {
        out.push(format!(
            "the run recorded {} events ({} RPCs, {} client ops); the log kept its first and last {} \
             (a note marks the gap)",
            r.events, r.rpcs, r.ops, m.events
        ));
    }
    out.push(String::new());
    out
}

/// Runs the viewer with command-line `args` (without the program name), writing to stdout:
/// what `lablog` and `grade logs` do. Exit code 2 for a usage error, 1 if the file cannot be
/// read.
pub fn main_with_args<I: IntoIterator<Item = String>>(args: I) -> ExitCode {
    let (file, mut options) = match parse_args(args) {
        Ok(Command::Help) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Command::View { file, options }) => (file, options),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !stdout.is_terminal() {
        options.color = false;
    }
    let loaded = match super::load(&file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("lablog: cannot read {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let unknown: Vec<&String> =
        options.nodes.iter().filter(|n| !loaded.events.iter().any(|e| &e.node == *n)).collect();
    if !unknown.is_empty() {
        let mut names: Vec<&str> = loaded.events.iter().map(|e| e.node.as_str()).collect();
        names.sort_by(|a, b| node_order(a, b));
        names.dedup();
        let list: Vec<String> = unknown.iter().map(|n| format!("'{n}'")).collect();
        eprintln!("lablog: no events from node {}; the nodes are: {}", list.join(", "), names.join(", "));
        return ExitCode::from(2);
    }
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in preamble(&loaded, options.color).into_iter().chain(render(&loaded.events, &options)) {
        if writeln!(out, "{line}").is_err() {
            // A closed pipe (`lablog x | head`) is not an error.
            return ExitCode::SUCCESS;
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}
