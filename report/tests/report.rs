//! Tests of the failure report (`report`) and the terminal viewer (`report::viewer`):
//! the page is self-contained and embeds the run safely, the data round-trips, the viewer
//! filters and lays out columns, and a 50 000-RPC report stays small.

use report::ReportInput;
use report::events::{Event, EventKind, RpcFate};
use report::viewer::{self, Command, Topic, ViewOptions};
use std::path::PathBuf;

const MS: u64 = 1_000_000;

fn ev(t_ms: u64, node: &str, kind: EventKind) -> Event {
    Event { t: t_ms * MS, node: node.to_string(), kind }
}

fn rpc(t_ms: u64, from: &str, to: &str, method: &str, dur_ms: u64, fate: RpcFate, delayed: bool) -> Event {
    ev(
        t_ms,
        from,
        EventKind::Rpc {
            to: to.into(),
            method: method.into(),
            done: (t_ms + dur_ms) * MS,
            fate,
            bytes: 120,
            delayed,
        },
    )
}

fn log(t_ms: u64, node: &str, level: &str, message: &str) -> Event {
    ev(t_ms, node, EventKind::Log { level: level.into(), target: "raft".into(), message: message.into() })
}

fn state(t_ms: u64, node: &str, role: &str, term: u64, commit: u64) -> Event {
    ev(t_ms, node, EventKind::State { role: role.into(), term, commit })
}

/// A small run: 3 servers and the tester; every RPC fate, a crash and restart, a partition,
/// role changes, client operations and a failed verdict. Not in time order, as recorded.
fn synthetic() -> Vec<Event> {
    let ae = "Raft.AppendEntries";
    let mut v = vec![
        ev(0, "tester", EventKind::Start),
        ev(0, "server-0", EventKind::Start),
        ev(0, "server-1", EventKind::Start),
        ev(0, "server-2", EventKind::Start),
        state(1, "server-0", "follower", 0, 0),
        state(1, "server-1", "follower", 0, 0),
        state(1, "server-2", "follower", 0, 0),
        state(150, "server-0", "candidate", 1, 0),
        rpc(150, "server-0", "server-1", "Raft.RequestVote", 2, RpcFate::Delivered, false),
        rpc(150, "server-0", "server-2", "Raft.RequestVote", 3, RpcFate::Delivered, true),
        state(153, "server-0", "leader", 1, 0),
        state(154, "server-1", "follower", 1, 0),
        state(154, "server-2", "follower", 1, 0),
        log(153, "server-0", "INFO", "became leader for term 1"),
        rpc(160, "server-0", "server-1", ae, 2, RpcFate::Delivered, false),
        rpc(160, "server-0", "server-2", ae, 2, RpcFate::RequestDropped, false),
        rpc(170, "server-0", "server-2", ae, 2, RpcFate::ReplyDropped, false),
        log(171, "server-2", "DEBUG", "append entries from server-0: 1 entry"),
        ev(200, "tester", EventKind::Fault { what: "disconnect server-1".into() }),
        rpc(210, "server-0", "server-1", ae, 0, RpcFate::Unreachable, false),
        log(215, "server-1", "WARN", "no heartbeat for 60ms </script><script>alert(1)</script>"),
        ev(300, "server-2", EventKind::Crash),
        rpc(305, "server-0", "server-2", ae, 1, RpcFate::ServerDead, false),
        rpc(310, "server-0", "server-2", "Raft.Bogus", 1, RpcFate::Error, false),
        log(311, "server-0", "ERROR", "call Raft.Bogus failed:\n  no such method\x1b[2J"),
        ev(400, "tester", EventKind::Fault { what: "connect server-1".into() }),
        ev(500, "server-2", EventKind::Start),
        state(501, "server-2", "follower", 1, 0),
        state(520, "server-0", "leader", 1, 3),
        ev(100, "tester", EventKind::Op { client: 1, ret: Some(180 * MS), desc: "put('x', '1')".into() }),
        ev(200, "tester", EventKind::Op { client: 2, ret: Some(260 * MS), desc: "get('x') -> ''".into() }),
        ev(250, "tester", EventKind::Op { client: 1, ret: None, desc: "append('x', '2')".into() }),
        ev(120, "tester", EventKind::Note { text: "checkOneLeader: leader is server-0".into() }),
        ev(
            600,
            "tester",
            EventKind::Verdict {
                ok: false,
                text: "get('x') -> '' cannot follow put('x', '1'), which finished first".into(),
            },
        ),
    ];
    // Recorded when they finish, so RPCs are not in send order.
    v.swap(8, 14);
    v
}

fn input(events: &[Event]) -> ReportInput<'_> {
    ReportInput {
        title: "raft::tests::basic_agree_3b",
        seed: 42,
        backend: "sim".into(),
        replay: "LAB_SEED=42 cargo test -p raft -- --exact tests::basic_agree_3b",
        failure: Some("one(5231) failed to reach agreement <after 10s> & gave up"),
        events,
        recorded: None,
    }
}

/// A directory in the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for Scratch {
    #[allow(
        clippy::disallowed_methods,
        reason = "the report is not lab code: its files are on the real disk"
    )]
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[allow(clippy::disallowed_methods, reason = "the report is not lab code: its files are on the real disk")]
fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("distlab-report-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// Events in a canonical order, to compare runs regardless of recording order.
fn canonical(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> =
        events.iter().map(|e| format!("{:020} {}", e.t, serde_json::to_string(e).unwrap())).collect();
    v.sort();
    v
}

#[allow(clippy::disallowed_methods, reason = "the report is not lab code: its files are on the real disk")]
#[test]
fn the_page_is_self_contained_and_embeds_every_event() {
    let events = synthetic();
    let dir = scratch("page");
    let path = dir.join("page.html");
    report::write_html(&path, &input(&events)).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in ["http://", "https://", "src=\"//", "href=\"//", "<link", "@import", "url("] {
        assert!(!html.contains(bad), "the page must not load anything from outside: found {bad:?}");
    }
    // Every script is inline: no src attribute at all. Nothing in the inlined assets can end
    // their element early or open a comment.
    assert!(!html.contains("<script src"), "scripts must be inline");
    assert_eq!(html.matches("</script>").count(), html.matches("<script").count());
    assert_eq!(html.matches("</style").count(), 1);
    assert!(!html.contains("<!--"));
    assert!(html.contains(r#"<script type="application/json" id="report-data">"#));
    // The embedded data holds every event.
    let packed = report::extract_packed(&html).unwrap();
    assert_eq!(packed.v, report::FORMAT_VERSION);
    assert_eq!(packed.rpc.t.len(), 8);
    assert_eq!(packed.nodes, ["server-0", "server-1", "server-2", "tester"]);
    assert_eq!(canonical(&packed.unpack().unwrap()), canonical(&events));
    assert_eq!(packed.meta.seed, "42");
    assert_eq!(packed.meta.end, 600 * MS);
    // The header is in the page itself, escaped.
    assert!(html.contains("one(5231) failed to reach agreement &lt;after 10s&gt; &amp; gave up"));
    assert!(html.contains("LAB_SEED=42 cargo test -p raft"));
    assert!(html.contains("raft::tests::basic_agree_3b"));
    for id in ["summary", "errors", "timeline", "node-list", "log-view", "verdict", "failure", "replay"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
}

#[test]
fn a_script_end_tag_in_a_log_line_cannot_break_out() {
    let events = synthetic();
    let html = report::render_html(&input(&events));
    assert!(!html.contains("</script><script>alert(1)"), "a log line broke out of the data element");
    assert!(html.contains(r"\u003c/script\u003e\u003cscript\u003ealert(1)"));
    // Every </script> closes a <script> the page itself opened.
    assert_eq!(html.matches("</script>").count(), html.matches("<script").count());
    // The line reads back intact.
    let back = report::extract_packed(&html).unwrap().unpack().unwrap();
    assert!(back.iter().any(|e| matches!(&e.kind,
        EventKind::Log { message, .. } if message.ends_with("</script><script>alert(1)</script>"))));
    assert_eq!(report::escape_json_for_script("\"<!--&\u{2028}\""), r#""\u003c!--\u0026\u2028""#);
}

#[allow(clippy::disallowed_methods, reason = "the report is not lab code: its files are on the real disk")]
#[test]
fn reports_and_event_files_load_back_for_the_viewer() {
    let events = synthetic();
    let dir = scratch("load");
    let html = report::write_report(&dir, &input(&events)).unwrap();
    assert_eq!(html, dir.join("raft.tests.basic_agree_3b-42.html"));
    let jsonl = dir.join("raft.tests.basic_agree_3b-42.events.jsonl");
    assert!(jsonl.is_file());
    assert_eq!(std::fs::read_to_string(&jsonl).unwrap().lines().count(), events.len());

    let from_jsonl = report::load(&jsonl).unwrap();
    assert!(from_jsonl.meta.is_none());
    assert_eq!(canonical(&from_jsonl.events), canonical(&events));
    assert!(from_jsonl.events.windows(2).all(|w| w[0].t <= w[1].t), "loaded events are in time order");

    let from_html = report::load(&html).unwrap();
    let meta = from_html.meta.unwrap();
    assert_eq!(meta.title, "raft::tests::basic_agree_3b");
    assert_eq!(meta.failure.as_deref(), Some("one(5231) failed to reach agreement <after 10s> & gave up"));
    assert_eq!(canonical(&from_html.events), canonical(&events));
    assert_eq!(meta.recorded, None);

    // A run whose log dropped its middle keeps its exact counts in the report.
    let recorded = report::Recorded { events: 1_000_000, rpcs: 400_000, ops: 20_000 };
    let partial = dir.join("partial.html");
    report::write_html(&partial, &ReportInput { recorded: Some(recorded), ..input(&events) }).unwrap();
    assert_eq!(report::load(&partial).unwrap().meta.unwrap().recorded, Some(recorded));

    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"t\":1}\n").unwrap();
    let err = report::load(&bad).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn file_names_and_the_default_directory() {
    assert_eq!(report::file_stem("tests::basic_agree_3b"), "tests.basic_agree_3b");
    assert_eq!(report::file_stem("a b/c"), "a_b_c");
    assert_eq!(report::file_stem(""), "run");
    let d = report::default_dir();
    assert!(
        d.ends_with("lab-reports")
            || d.ends_with("distlab-reports")
            || std::env::var_os("LAB_REPORT_DIR").is_some()
    );
    assert!(report::node_order("server-2", "server-10").is_lt());
    assert!(report::node_order("tester", "a").is_gt());
    assert!(report::node_order("client-1", "server-0").is_lt());
}

fn opts() -> ViewOptions {
    ViewOptions { width: 120, ..ViewOptions::default() }
}

/// The column (0-based) an event line puts its text in, by counting separators.
fn column_of(line: &str) -> usize {
    line.split(" | ").skip(1).position(|c| !c.trim().is_empty()).unwrap()
}

#[test]
fn the_viewer_puts_each_event_in_its_nodes_column() {
    let events = synthetic();
    let lines = viewer::render(&events, &opts());
    let header = &lines[0];
    for n in ["time ms", "server-0", "server-1", "server-2", "tester"] {
        assert!(header.contains(n), "header {header:?} lacks {n}");
    }
    assert!(!lines.iter().any(|l| l.contains('\x1b')), "no colors asked for");
    assert_eq!(lines.len(), events.len() + 3, "header, rule, one line per event, count");
    assert_eq!(lines.last().unwrap(), &format!("-- {0} of {0} events shown", events.len()));
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(width <= 120, "lines fit the width: {width}");
    let crash = lines.iter().find(|l| l.contains("** CRASH **")).unwrap();
    assert_eq!(column_of(crash), 2, "server-2's crash is in its column: {crash}");
    assert!(crash.trim_start().starts_with("300.000"));
    let fault = lines.iter().find(|l| l.contains("!! disconnect server-1")).unwrap();
    assert_eq!(column_of(fault), 3, "the tester's fault is in its column: {fault}");
    // Wide enough for whole descriptions:
    let wide = viewer::render(&events, &ViewOptions { width: 400, ..opts() });
    let drop = wide.iter().find(|l| l.contains("DROPPED-REQUEST")).unwrap();
    assert!(drop.contains("-> server-2 DROPPED-REQUEST Raft.AppendEntries 2.00ms 120B"), "{drop}");
    assert!(wide.iter().any(|l| l.contains("-> server-2 ok+delayed Raft.RequestVote 3.00ms 120B")));
    assert!(wide.iter().any(|l| l.contains("VERDICT FAILED: get('x')")));
    assert!(wide.iter().any(|l| l.contains("op c1 append('x', '2') [no reply]")));
    assert!(wide.iter().any(|l| l.contains("leader term=1 commit=3")));
    assert!(wide.iter().any(|l| l.contains("WARN  no heartbeat for 60ms </script>")));
    // A message cannot break the columns or send escape codes to the terminal.
    assert!(wide.iter().any(|l| l.ends_with("ERROR call Raft.Bogus failed:\\n  no such method?[2J")));
    assert!(!wide.iter().any(|l| l.contains('\x1b')));
    // Lines are in time order.
    let times: Vec<f64> = lines[2..lines.len() - 1].iter().map(|l| l[..11].trim().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // An event's text runs on over the empty columns to its right instead of being cut.
    let default = viewer::render(&events, &ViewOptions { width: 160, ..opts() });
    assert!(
        default.iter().any(|l| l.contains("-> server-2 DROPPED-REQUEST Raft.AppendEntries 2.00ms 120B")),
        "{default:#?}"
    );
    // Long text is cut to the line, marked with '~'.
    let narrow = viewer::render(&events, &ViewOptions { width: 60, ..opts() });
    assert!(narrow.iter().any(|l| l.ends_with('~')));
    assert!(narrow.iter().all(|l| l.chars().count() <= 11 + 4 * (3 + 12)));
}

/// Five servers and the tester at the default width: the last servers' columns are narrow,
/// and an RPC's cell there used to be cut (`-> server-0 ok Raft.AppendEn~`). It wraps instead.
#[test]
fn rpc_cells_of_the_last_columns_wrap_at_the_default_width() {
    let mut events: Vec<Event> = (0..5).map(|i| ev(0, &format!("server-{i}"), EventKind::Start)).collect();
    events.push(ev(0, "tester", EventKind::Start));
    events.push(rpc(10, "server-4", "server-0", "Raft.InstallSnapshot", 2, RpcFate::RequestDropped, true));
    let lines = viewer::render(&events, &ViewOptions { width: 160, ..opts() });
    assert!(lines.iter().all(|l| l.chars().count() <= 160), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.ends_with('~')), "nothing is cut: {lines:#?}");
    let at = lines.iter().position(|l| l.contains("-> server-0")).expect("the RPC's line");
    let cell: Vec<&str> =
        lines[at..lines.len() - 1].iter().map(|l| l.rsplit(" | ").next().unwrap().trim()).collect();
    assert!(cell.len() > 1, "the cell wraps: {lines:#?}");
    assert_eq!(
        cell.join(" "),
        "-> server-0 DROPPED-REQUEST+delayed Raft.InstallSnapshot 2.00ms 120B",
        "{lines:#?}"
    );
    assert!(lines[at + 1].starts_with(&" ".repeat(11)), "a continuation has no time: {lines:#?}");
    assert_eq!(column_of(&lines[at + 1]), 4, "and stays in server-4's column: {lines:#?}");
}

#[test]
fn the_viewer_filters_by_node_level_topic_text_and_time() {
    let events = synthetic();
    let shown = |o: ViewOptions| -> Vec<String> {
        let lines = viewer::render(&events, &o);
        lines[2..lines.len() - 1].to_vec()
    };
    let only1 = shown(ViewOptions { nodes: vec!["server-1".into()], ..opts() });
    assert_eq!(only1.len(), 4, "{only1:#?}");
    let lines = viewer::render(&events, &ViewOptions { nodes: vec!["server-1".into()], ..opts() });
    assert!(!lines[0].contains("server-0") && lines[0].contains("server-1"));

    let warn = shown(ViewOptions { min_level: 3, topics: vec![Topic::Log], ..opts() });
    assert_eq!(warn.len(), 2, "WARN and ERROR only: {warn:#?}");
    assert!(warn[0].contains("WARN  no heartbeat"));
    assert!(warn[1].contains("ERROR call Raft.Bogus"));
    // The level leaves other topics alone.
    let warn_all = shown(ViewOptions { min_level: 3, ..opts() });
    assert_eq!(warn_all.len(), events.len() - 2);

    let faults = shown(ViewOptions { topics: vec![Topic::Fault], ..opts() });
    assert_eq!(faults.len(), 8, "2 faults, a crash, 5 starts: {faults:#?}");
    let rpcs_and_notes = shown(ViewOptions { topics: vec![Topic::Rpc, Topic::Note], ..opts() });
    assert_eq!(rpcs_and_notes.len(), 9);

    let grep = shown(ViewOptions { grep: Some("APPENDENTRIES".into()), ..opts() });
    assert_eq!(grep.len(), 5, "case-insensitive: {grep:#?}");
    let by_target = shown(ViewOptions { grep: Some("raft".into()), topics: vec![Topic::Log], ..opts() });
    assert_eq!(by_target.len(), 4, "the log target is searched too");

    let window = shown(ViewOptions { from_ms: Some(200.0), to_ms: Some(300.0), ..opts() });
    let times: Vec<f64> = window.iter().map(|l| l[..11].trim().parse().unwrap()).collect();
    assert!(!times.is_empty() && times.iter().all(|t| (200.0..=300.0).contains(t)), "{times:?}");
    assert_eq!(window.len(), 6);

    let colored = viewer::render(&events, &ViewOptions { color: true, ..opts() });
    assert!(colored.iter().any(|l| l.contains("\x1b[1;41;97m** CRASH **")), "a crash stands out");
    assert!(colored.iter().all(|l| l.matches("\x1b[").count() == 0 || l.ends_with("\x1b[0m")));
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(ToString::to_string).collect()
}

#[test]
fn the_viewer_command_line() {
    let Command::View { file, options } = viewer::parse_args(args(&[
        "run.jsonl",
        "--node",
        "server-1",
        "--node=server-2",
        "--level",
        "warn",
        "--topic",
        "rpc,log",
        "--topic",
        "fault",
        "--grep",
        "vote",
        "--from",
        "10",
        "--to",
        "20.5",
        "--width",
        "100",
        "--no-color",
    ]))
    .unwrap() else {
        panic!("expected a view command")
    };
    assert_eq!(file, PathBuf::from("run.jsonl"));
    assert_eq!(options.nodes, ["server-1", "server-2"]);
    assert_eq!(options.min_level, 3);
    assert_eq!(options.topics, [Topic::Rpc, Topic::Log, Topic::Fault]);
    assert_eq!(options.grep.as_deref(), Some("vote"));
    assert_eq!((options.from_ms, options.to_ms), (Some(10.0), Some(20.5)));
    assert_eq!(options.width, 100);
    assert!(!options.color);
    assert_eq!(viewer::parse_args(args(&["--help"])).unwrap(), Command::Help);

    let err = |a: &[&str]| viewer::parse_args(args(a)).unwrap_err().to_string();
    assert!(err(&[]).contains("required arguments were not provided") && err(&[]).contains("<FILE>"));
    assert!(err(&["f", "--bogus"]).contains("unexpected argument '--bogus'"));
    assert!(err(&["f", "--node"]).contains("a value is required for '--node <NAME>'"));
    assert!(err(&["f", "--level", "loud"]).contains("unknown level 'loud'"));
    assert!(err(&["f", "--topic", "rpcs"]).contains("unknown topic 'rpcs'"));
    assert!(err(&["f", "--from", "soon"]).contains("takes milliseconds"));
    assert!(err(&["f", "--from", "20", "--to", "10"]).contains("is after --to"));
    assert!(err(&["f", "--width", "5"]).contains("takes a number of characters"));
    assert!(err(&["f", "g"]).contains("unexpected argument 'g'"));
    assert!(err(&["f", "--bogus"]).contains("Usage: lablog"), "{}", err(&["f", "--bogus"]));
}

#[test]
fn the_lablog_binary_prints_columns_and_explains_mistakes() {
    let events = synthetic();
    let dir = scratch("bin");
    let html = report::write_report(&dir, &input(&events)).unwrap();
    let exe = env!("CARGO_BIN_EXE_lablog");
    let out = std::process::Command::new(exe)
        .arg(&html)
        .args(["--topic", "fault", "--width", "100"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    println!("{text}");
    assert!(!text.contains('\x1b'), "no colors when stdout is not a terminal");
    assert!(text.contains("FAILED: one(5231) failed to reach agreement"));
    assert!(text.contains("replay: LAB_SEED=42"));
    assert!(text.contains("** CRASH **") && text.contains("!! connect server-1"));

    let out = std::process::Command::new(exe).arg(&html).args(["--node", "server-9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no events from node 'server-9'")
            && err.contains("server-0, server-1, server-2, tester")
    );

    let out = std::process::Command::new(exe).args(["--level"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("a value is required for '--level"));

    let out = std::process::Command::new(exe).arg(dir.join("missing.jsonl")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("cannot read"));
}

/// A synthetic 5-server run with `n` RPCs over about 60 s of virtual time.
fn big_run(n: usize) -> Vec<Event> {
    let mut events = Vec::with_capacity(n + n / 10);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let nodes = ["server-0", "server-1", "server-2", "server-3", "server-4"];
    let methods = ["Raft.AppendEntries", "Raft.RequestVote", "Raft.InstallSnapshot"];
    let mut t = 0u64;
    for i in 0..n {
        t += 1_200_000 + next() % 100_000;
        let from = nodes[(i / 4000) % 5];
        let to = nodes[(next() % 5) as usize];
        let r = next() % 100;
        let fate = match r {
            0..=89 => RpcFate::Delivered,
            90..=94 => RpcFate::RequestDropped,
            95..=97 => RpcFate::ReplyDropped,
            98 => RpcFate::Unreachable,
            _ => RpcFate::ServerDead,
        };
        events.push(Event {
            t,
            node: from.into(),
            kind: EventKind::Rpc {
                to: to.into(),
                method: methods[(next() % 10 / 8) as usize].into(),
                done: t + 500_000 + next() % 20_000_000,
                fate,
                bytes: 80 + next() % 400,
                delayed: next().is_multiple_of(50),
            },
        });
        if i.is_multiple_of(40) {
            events.push(Event {
                t,
                node: from.into(),
                kind: EventKind::State {
                    role: "leader".into(),
                    term: (i / 4000) as u64 + 1,
                    commit: (i / 40) as u64,
                },
            });
        }
    }
    events
}

#[allow(clippy::disallowed_methods, reason = "the report is not lab code: its files are on the real disk")]
#[test]
fn a_report_of_50000_rpcs_stays_small() {
    let events = big_run(50_000);
    let dir = scratch("big");
    let path = dir.join("big.html");
    report::write_html(&path, &ReportInput { failure: None, ..input(&events) }).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    println!("50 000 RPCs: report {:.2} MB (make bench times it)", size as f64 / 1e6);
    assert!(size < 15_000_000, "report is {size} bytes");
    assert!(size < 60 * 50_000, "about 60 bytes per RPC at most: {size}");
    let back = report::load(&path).unwrap();
    assert_eq!(back.events.len(), events.len());
    assert_eq!(canonical(&back.events), canonical(&events));
}

#[test]
fn a_report_of_no_events_still_renders() {
    let html = report::render_html(&ReportInput { failure: None, ..input(&[]) });
    assert!(html.contains("PASSED"));
    let p = report::extract_packed(&html).unwrap();
    assert!(p.unpack().unwrap().is_empty());
    assert!(viewer::render(&[], &opts()).last().unwrap().contains("0 of 0 events"));
}
