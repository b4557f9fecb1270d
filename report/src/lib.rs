//! Failure reports a person can read: one self-contained HTML page per run, and the run's events
//! as JSON lines for the terminal viewer ([`viewer`], the `lablog` binary).
//!
//! A failing 6.5840 test says one line ("one(5231) failed to reach agreement") and leaves the
//! student to add prints and re-run. The simulation already records everything on one clock
//! (see [`events`]), so the report shows it: fault bands, a message-sequence diagram of
//! every RPC and its fate, each server's role, term and commit index, the client operations
//! with the checker's verdict, and the node logs in columns, all on one zoomable time axis.
//!
//! Why it looks the way it does:
//! * **One file, offline.** A report is attached to a CI run, mailed, or opened years later, so
//!   the page inlines its CSS, its script and its data; it fetches nothing.
//! * **Compact data.** A Raft test easily makes 50 000 RPCs. The embedded JSON interns node
//!   names and strings into tables and stores RPCs as delta-encoded columns (see [`PackedRun`]),
//!   which keeps such a report to a few megabytes.
//! * **Canvas, not DOM.** The timeline draws only the visible window on a `<canvas>`, finding
//!   events by binary search on time; the log table is a virtual list. The page stays responsive
//!   at 50 000 RPCs.
//! * **Testable.** The page fills a hidden `#summary` element (`data-nodes`, `data-rpcs`,
//!   `data-verdict`) and traps script errors into `#errors`, so a headless browser can check it.

pub mod events;
pub mod viewer;

use crate::events::{Event, EventKind, RpcFate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

const REPORT_CSS: &str = include_str!("report.css");
const REPORT_JS: &str = include_str!("report.js");

/// The version of the embedded data format ([`PackedRun::v`]).
pub const FORMAT_VERSION: u32 = 1;

/// What a report is about: one run of one test.
#[derive(Clone, Debug)]
pub struct ReportInput<'a> {
    /// The test's name (its path as libtest prints it), shown as the page title.
    pub title: &'a str,
    /// The seed of the run.
    pub seed: u64,
    /// The backend of the run (`sim` or `real`).
    pub backend: String,
    /// The one command that replays the run.
    pub replay: &'a str,
    /// Why the run failed, or `None` if it passed.
    pub failure: Option<&'a str>,
    /// Everything the run recorded, or, past the event log's memory budget, its first and last
    /// events with a note on the gap.
    pub events: &'a [Event],
    /// What the run recorded in all, when `events` holds only part of it (the log dropped the
    /// middle of a long run): the header then counts the whole run.
    pub recorded: Option<Recorded>,
}

/// Exact counts of what a run recorded, kept apart from its events (see
/// [`ReportInput::recorded`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// Events recorded.
    pub events: u64,
    /// RPCs sent.
    pub rpcs: u64,
    /// Client operations.
    pub ops: u64,
}

/// A report's description of its run, as read back from a report file by [`load`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// The test's name.
    pub title: String,
    /// The seed, as a decimal string (JavaScript numbers cannot hold every `u64`).
    pub seed: String,
    /// `sim` or `real`.
    pub backend: String,
    /// The replay command.
    pub replay: String,
    /// The failure message, if the run failed.
    pub failure: Option<String>,
    /// The last time anything happened (ns): the end of the time axis.
    pub end: u64,
    /// How many events the report holds.
    pub events: usize,
    /// What the run recorded in all, when the report holds only part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Recorded>,
}

/// The run's RPCs as columns, sorted by send time. Every column has one entry per RPC.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RpcColumns {
    /// Send time, as the difference from the previous RPC's send time (the first from 0), ns.
    pub t: Vec<u64>,
    /// The caller's node (index into [`PackedRun::nodes`]).
    pub from: Vec<u32>,
    /// The server's node (index into [`PackedRun::nodes`]).
    pub to: Vec<u32>,
    /// `done - t`, ns.
    pub dur: Vec<u64>,
    /// The method (index into [`PackedRun::strs`]).
    pub m: Vec<u32>,
    /// The fate: 0 delivered, 1 request dropped, 2 reply dropped, 3 unreachable, 4 server dead,
    /// 5 error.
    pub fate: Vec<u8>,
    /// Bytes on the wire.
    pub bytes: Vec<u64>,
    /// 1 if a long-reordering delay held the reply back.
    pub delayed: Vec<u8>,
}

/// The data embedded in a report: a run's events in a compact, columnar JSON form.
///
/// Node names and repeated strings (methods, roles, log targets) are interned; each other kind
/// of event is a list of arrays (tuples) sorted by time, with times in ns. [`pack`] builds it and
/// [`PackedRun::unpack`] gives the events back (sorted by time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PackedRun {
    /// [`FORMAT_VERSION`].
    pub v: u32,
    /// What the run was.
    pub meta: ReportMeta,
    /// Node names, in display order (naturally sorted, the tester last).
    pub nodes: Vec<String>,
    /// Interned strings.
    pub strs: Vec<String>,
    /// Every RPC.
    pub rpc: RpcColumns,
    /// `(t, node, role, term, commit)`, role indexing `strs`.
    pub state: Vec<(u64, u32, u32, u64, u64)>,
    /// `(t, node, level, target, message)`: level 0 TRACE .. 4 ERROR, target indexing `strs`.
    pub log: Vec<(u64, u32, u8, u32, String)>,
    /// `(t, node, client, return time, description)`; the client id is a decimal string
    /// (6.5840 clerk ids are random 64-bit numbers, which JavaScript numbers cannot hold).
    pub op: Vec<(u64, u32, String, Option<u64>, String)>,
    /// `(t, node, what)`: network faults.
    pub fault: Vec<(u64, u32, String)>,
    /// `(t, node, 1 start | 0 crash)`.
    pub life: Vec<(u64, u32, u8)>,
    /// `(t, node, text)`: tester notes.
    pub note: Vec<(u64, u32, String)>,
    /// `(t, node, ok, text)`: checker verdicts.
    pub verdict: Vec<(u64, u32, bool, String)>,
}

/// Log levels from least to most severe, as `tracing` names them.
pub const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// The index of `level` in [`LEVELS`] (case-insensitive; unknown levels count as INFO).
pub fn level_rank(level: &str) -> u8 {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level.trim())).unwrap_or(2) as u8
}

fn fate_code(f: &RpcFate) -> u8 {
    match f {
        RpcFate::Delivered => 0,
        RpcFate::RequestDropped => 1,
        RpcFate::ReplyDropped => 2,
        RpcFate::Unreachable => 3,
        RpcFate::ServerDead => 4,
        RpcFate::Error => 5,
    }
}

fn fate_from_code(c: u8) -> RpcFate {
    match c {
        0 => RpcFate::Delivered,
        1 => RpcFate::RequestDropped,
        2 => RpcFate::ReplyDropped,
        3 => RpcFate::Unreachable,
        4 => RpcFate::ServerDead,
        _ => RpcFate::Error,
    }
}

/// Compares node names the way a person counts: `server-2` before `server-10`, and `tester`
/// after everything else (it is not a peer).
pub fn node_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a == "tester").cmp(&(b == "tester")).then_with(|| natural_cmp(a, b))
}

fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x, y) {
            ((true, nx), (true, ny)) => {
                let (tx, ty) = (nx.trim_start_matches('0'), ny.trim_start_matches('0'));
                tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty)).then_with(|| nx.len().cmp(&ny.len()))
            }
            ((_, sx), (_, sy)) => sx.cmp(sy),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Interns strings into a table.
#[derive(Default)]
struct Interner {
    table: Vec<String>,
    index: BTreeMap<String, u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as u32;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// The end of a run's time axis: the latest time any event mentions (ns).
fn end_time(events: &[Event]) -> u64 {
    events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Rpc { done, .. } => e.t.max(*done),
            EventKind::Op { ret: Some(r), .. } => e.t.max(*r),
            _ => e.t,
        })
        .max()
        .unwrap_or(0)
}

/// Packs a run for embedding in a report.
pub fn pack(input: &ReportInput) -> PackedRun {
    let events = input.events;
    // Nodes: every node any event names, in display order.
    let mut names: Vec<&str> = Vec::new();
    {
        let mut seen = std::collections::BTreeSet::new();
        for e in events {
            if seen.insert(e.node.as_str()) {
                names.push(&e.node);
            }
            if let EventKind::Rpc { to, .. } = &e.kind
                && seen.insert(to.as_str())
            {
                names.push(to);
            }
        }
    }
    names.sort_by(|a, b| node_order(a, b));
    let node_ix: BTreeMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    let mut strs = Interner::default();
    let mut p = PackedRun {
        v: FORMAT_VERSION,
        meta: ReportMeta {
            title: input.title.to_string(),
            seed: input.seed.to_string(),
            backend: input.backend.clone(),
            replay: input.replay.to_string(),
            failure: input.failure.map(str::to_string),
            end: end_time(events),
            events: events.len(),
            recorded: input.recorded,
        },
        nodes: names.iter().map(ToString::to_string).collect(),
        ..PackedRun::default()
    };
    // (t, from, to, dur, method, fate, bytes, delayed)
    type Row = (u64, u32, u32, u64, u32, u8, u64, u8);
    let mut rpcs: Vec<Row> = Vec::new();
    for e in events {
        let n = node_ix[e.node.as_str()];
        let t = e.t;
        match &e.kind {
            EventKind::Rpc { to, method, done, fate, bytes, delayed } => rpcs.push((
                t,
                n,
                node_ix[to.as_str()],
                done.saturating_sub(t),
                strs.id(method),
                fate_code(fate),
                *bytes,
                *delayed as u8,
            )),
            EventKind::Crash => p.life.push((t, n, 0)),
            EventKind::Start => p.life.push((t, n, 1)),
            EventKind::Fault { what } => p.fault.push((t, n, what.clone())),
            EventKind::State { role, term, commit } => p.state.push((t, n, strs.id(role), *term, *commit)),
            EventKind::Log { level, target, message } => {
                p.log.push((t, n, level_rank(level), strs.id(target), message.clone()));
            }
            EventKind::Op { client, ret, desc } => p.op.push((t, n, client.to_string(), *ret, desc.clone())),
            EventKind::Note { text } => p.note.push((t, n, text.clone())),
            EventKind::Verdict { ok, text } => p.verdict.push((t, n, *ok, text.clone())),
        }
    }
    // Stable sorts: events recorded at the same instant keep their order.
    rpcs.sort_by_key(|r| r.0);
    p.life.sort_by_key(|r| r.0);
    p.fault.sort_by_key(|r| r.0);
    p.state.sort_by_key(|r| r.0);
    p.log.sort_by_key(|r| r.0);
    p.op.sort_by_key(|r| r.0);
    p.note.sort_by_key(|r| r.0);
    p.verdict.sort_by_key(|r| r.0);
    let c = &mut p.rpc;
    let mut prev = 0;
    for (t, from, to, dur, m, fate, bytes, delayed) in rpcs {
        c.t.push(t - prev);
        prev = t;
        c.from.push(from);
        c.to.push(to);
        c.dur.push(dur);
        c.m.push(m);
        c.fate.push(fate);
        c.bytes.push(bytes);
        c.delayed.push(delayed);
    }
    p.strs = strs.table;
    p
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt report data: {what}"))
}

impl PackedRun {
    /// The events back, sorted by time (events at the same time keep their kind's order).
    pub fn unpack(&self) -> io::Result<Vec<Event>> {
        let node = |i: u32| self.nodes.get(i as usize).cloned().ok_or_else(|| corrupt("node index"));
        let s = |i: u32| self.strs.get(i as usize).cloned().ok_or_else(|| corrupt("string index"));
        let c = &self.rpc;
        let n = c.t.len();
        if [c.from.len(), c.to.len(), c.dur.len(), c.m.len(), c.fate.len(), c.bytes.len(), c.delayed.len()]
            .iter()
            .any(|&l| l != n)
        {
            return Err(corrupt("RPC columns of different lengths"));
        }
        let mut out = Vec::with_capacity(self.meta.events.max(n));
        let mut t = 0u64;
        for i in 0..n {
            t += c.t[i];
            out.push(Event {
                t,
                node: node(c.from[i])?,
                kind: EventKind::Rpc {
                    to: node(c.to[i])?,
                    method: s(c.m[i])?,
                    done: t + c.dur[i],
                    fate: fate_from_code(c.fate[i]),
                    bytes: c.bytes[i],
                    delayed: c.delayed[i] != 0,
                },
            });
        }
        for &(t, n, what) in &self.life {
            out.push(Event {
                t,
                node: node(n)?,
                kind: if what == 0 { EventKind::Crash } else { EventKind::Start },
            });
        }
        for (t, n, what) in &self.fault {
            out.push(Event { t: *t, node: node(*n)?, kind: EventKind::Fault { what: what.clone() } });
        }
        for &(t, n, role, term, commit) in &self.state {
            out.push(Event { t, node: node(n)?, kind: EventKind::State { role: s(role)?, term, commit } });
        }
        for (t, n, level, target, message) in &self.log {
            let level = LEVELS.get(*level as usize).copied().unwrap_or("INFO").to_string();
            out.push(Event {
                t: *t,
                node: node(*n)?,
                kind: EventKind::Log { level, target: s(*target)?, message: message.clone() },
            });
        }
        for (t, n, client, ret, desc) in &self.op {
            let client = client.parse().map_err(|_| corrupt("client id"))?;
            out.push(Event {
                t: *t,
                node: node(*n)?,
                kind: EventKind::Op { client, ret: *ret, desc: desc.clone() },
            });
        }
        for (t, n, text) in &self.note {
            out.push(Event { t: *t, node: node(*n)?, kind: EventKind::Note { text: text.clone() } });
        }
        for (t, n, ok, text) in &self.verdict {
            out.push(Event {
                t: *t,
                node: node(*n)?,
                kind: EventKind::Verdict { ok: *ok, text: text.clone() },
            });
        }
        out.sort_by_key(|e| e.t);
        Ok(out)
    }
}

/// Makes JSON safe inside an HTML `<script>` element: no `<`, `>` or `&` survive (so neither
/// `</script>` nor `<!--` can end or confuse the element), nor the JavaScript line separators.
/// These characters can only occur inside JSON strings, where the `\uXXXX` escapes mean the same.
pub fn escape_json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The id of the `<script type="application/json">` element that holds a report's data.
pub const DATA_ELEMENT_ID: &str = "report-data";

/// Renders the report page for `input` as one self-contained HTML document.
pub fn render_html(input: &ReportInput) -> String {
    let packed = pack(input);
    let json = serde_json::to_string(&packed).expect("report data serializes");
    let json = escape_json_for_script(&json);
    let title = escape_html(input.title);
    let failed = input.failure.is_some();
    let mut h = String::with_capacity(json.len() + REPORT_JS.len() + REPORT_CSS.len() + 8192);
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="distlab report v{FORMAT_VERSION}">
<title>{status} {title} (seed {seed}) · distlab report</title>
<style>
{REPORT_CSS}
</style>
</head>
<body>
<script>
window.__reportErrors = [];
(function () {{
  function show(msg) {{
    window.__reportErrors.push(String(msg));
    var box = document.getElementById('errors');
    if (box) {{ var p = document.createElement('div'); p.textContent = String(msg); box.appendChild(p); }}
  }}
  window.__reportError = show;
  window.onerror = function (msg, src, line, col, err) {{
    show((err && err.stack) ? err.stack : (msg + ' at ' + src + ':' + line + ':' + col));
    return false;
  }};
  window.addEventListener('unhandledrejection', function (e) {{ show('unhandled rejection: ' + e.reason); }});
}})();
</script>
<div id="errors" role="alert"></div>
<header id="top" class="{status_class}">
  <div class="title-row">
    <span id="status" class="badge {status_class}">{status}</span>
    <h1 id="title">{title}</h1>
    <span id="meta" class="meta">seed <b id="seed">{seed}</b> · backend <b id="backend">{backend}</b></span>
  </div>
"#,
        status = if failed { "FAILED" } else { "PASSED" },
        status_class = if failed { "failed" } else { "passed" },
        seed = input.seed,
        backend = escape_html(&input.backend),
    );
    if let Some(f) = input.failure {
        let _ = writeln!(h, "  <pre id=\"failure\">{}</pre>", escape_html(f));
    }
    let _ = write!(
        h,
        r#"  <div class="replay-row"><span class="label">replay</span><code id="replay">{replay}</code><button id="copy-replay" type="button" title="copy the replay command">copy</button></div>
  <div id="verdict"></div>
  <div id="stats"></div>
</header>
<main>
<section id="timeline-section" aria-label="timeline">
  <div class="toolbar">
    <span class="group"><button id="zoom-out" type="button" title="zoom out (-)">&minus;</button><button id="zoom-in" type="button" title="zoom in (+)">+</button><button id="zoom-fit" type="button" title="show the whole run (0)">fit</button></span>
    <span id="window-label" class="window-label"></span>
    <span class="hint">wheel: zoom · shift+wheel or drag: pan · click: jump logs to that time</span>
    <span id="legend" class="legend"></span>
  </div>
  <div id="tl-wrap"><canvas id="timeline" tabindex="0" aria-label="timeline of the run"></canvas><div id="tooltip" hidden></div></div>
  <div id="tl-scroll"><div id="tl-spacer"></div></div>
</section>
<section id="logs-section" aria-label="node logs">
  <div class="toolbar logs-toolbar">
    <span class="group-label">nodes</span><span id="node-list" class="chips"></span>
  </div>
  <div class="toolbar logs-toolbar">
    <span class="group-label">show</span><span id="topic-list" class="chips"></span>
    <label class="level">level <select id="level-filter"><option value="0">trace</option><option value="1">debug</option><option value="2">info</option><option value="3">warn</option><option value="4">error</option></select></label>
    <input id="text-filter" type="search" placeholder="filter text (substring)" spellcheck="false">
    <span id="log-count" class="count"></span>
  </div>
  <div id="log-head"></div>
  <div id="log-view" tabindex="0"><div id="log-spacer"></div><div id="log-rows"></div></div>
  <pre id="log-detail">click a row for its full text</pre>
</section>
</main>
<div id="summary" hidden></div>
<script type="application/json" id="{DATA_ELEMENT_ID}">"#,
        replay = escape_html(input.replay),
    );
    h.push_str(&json);
    h.push_str("</script>\n<script>\n");
    h.push_str(REPORT_JS);
    h.push_str("\n</script>\n</body>\n</html>\n");
    h
}

/// Writes the report page for `input` to `path` (creating its directory).
#[allow(clippy::disallowed_methods, reason = "not lab code: report files live on the real disk")]
pub fn write_html(path: &Path, input: &ReportInput) -> io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render_html(input))
}

/// Writes `events` to `path` as JSON lines, one [`Event`] per line (the `lablog` input format).
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "not lab code: report files live on the real disk"
)]
pub fn write_events_json(path: &Path, events: &[Event]) -> io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = io::BufWriter::new(std::fs::File::create(path)?);
    for e in events {
        serde_json::to_writer(&mut w, e).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Where reports go: `$LAB_REPORT_DIR` if set, else `lab-reports` in the workspace's target
/// directory (`$CARGO_TARGET_DIR`, or the `target` directory above the running executable),
/// else `distlab-reports` in the system's temporary directory.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAB_REPORT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        let d = PathBuf::from(d);
        let d = if d.is_absolute() { d } else { std::env::current_dir().map(|c| c.join(&d)).unwrap_or(d) };
        return d.join("lab-reports");
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.file_name().is_some_and(|n| n == "target") || dir.join("CACHEDIR.TAG").is_file() {
                return dir.join("lab-reports");
            }
        }
    }
    std::env::temp_dir().join("distlab-reports")
}

/// A file-name-safe form of a test path: `mod::test` becomes `mod.test`, and any character but
/// ASCII letters, digits, `-`, `_` and `.` becomes `_`.
pub fn file_stem(test_path: &str) -> String {
    let s = test_path.replace("::", ".");
    let s: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    if s.is_empty() { "run".to_string() } else { s }
}

/// Writes `<dir>/<test>-<seed>.html` and, beside it, `<dir>/<test>-<seed>.events.jsonl` (see
/// [`events_path`]) for `input`, and returns the HTML path.
pub fn write_report(dir: &Path, input: &ReportInput) -> io::Result<PathBuf> {
    let html = dir.join(format!("{}-{}.html", file_stem(input.title), input.seed));
    write_html(&html, input)?;
    write_events_json(&events_path(&html), input.events)?;
    Ok(html)
}

/// The events file that [`write_report`] writes beside the report at `html`.
pub fn events_path(html: &Path) -> PathBuf {
    let name = html.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".html").unwrap_or(&name);
    html.with_file_name(format!("{stem}.events.jsonl"))
}

/// A run read back from a report or an events file.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The run's description (only a report has one).
    pub meta: Option<ReportMeta>,
    /// The events, sorted by time.
    pub events: Vec<Event>,
}

/// Extracts the embedded data from a report page.
pub fn extract_packed(html: &str) -> io::Result<PackedRun> {
    let marker = format!("id=\"{DATA_ELEMENT_ID}\">");
    let start =
        html.find(&marker).ok_or_else(|| corrupt("no embedded data element (is this a distlab report?)"))?
            + marker.len();
    let len = html[start..].find("</script>").ok_or_else(|| corrupt("unterminated data element"))?;
    serde_json::from_str(&html[start..start + len]).map_err(|e| corrupt(&e.to_string()))
}

/// Reads JSON-lines events (one [`Event`] per line; blank lines are skipped).
pub fn read_events_json(r: impl BufRead) -> io::Result<Vec<Event>> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let e: Event = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("line {}: not an event: {e}", i + 1))
        })?;
        out.push(e);
    }
    out.sort_by_key(|e| e.t);
    Ok(out)
}

/// Reads a run from `path`: an HTML report (by its embedded data) or a JSON-lines events file.
#[allow(clippy::disallowed_methods, reason = "not lab code: report files live on the real disk")]
pub fn load(path: &Path) -> io::Result<Loaded> {
    let bytes = std::fs::read(path)?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if head.trim_start().starts_with("<!doctype html") || head.trim_start().starts_with("<html") {
        let html = String::from_utf8(bytes).map_err(|_| corrupt("the report is not UTF-8"))?;
        let packed = extract_packed(&html)?;
        let events = packed.unpack()?;
        Ok(Loaded { meta: Some(packed.meta), events })
    } else {
        Ok(Loaded { meta: None, events: read_events_json(io::Cursor::new(bytes))? })
    }
}
