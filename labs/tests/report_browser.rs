//! The failure report in a real browser: a deliberately failing run is rendered by headless
//! Chromium, and the rendered DOM must hold its nodes, its RPC count and the checker's verdict,
//! with no script error. The screenshot is saved beside the report for a person to look at.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`). Without it the test is skipped,
//! unless `CI` or `LAB_BROWSER_TEST=1` is set, in which case it fails.

use labs::Node;
use labs::events::{self, EventKind, RpcFate};
use labs::sync::atomic::{AtomicBool, Ordering};
use labs::sync::{Arc, Mutex, Sender, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::{Outcome, World};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A request from the leader to a follower, with the channel for the answer.
struct Append {
    term: u64,
    index: u64,
    reply: Sender<bool>,
}

type Inboxes = Arc<Mutex<Vec<Sender<Append>>>>;

/// The leader's side of one call to `to`: `None` means the follower is disconnected. Waits up
/// to 20 ms for the answer, and records the RPC with its fate.
fn call(to: &str, inbox: Option<Sender<Append>>, term: u64, index: u64) -> bool {
    let t0 = events::now();
    let (tx, rx) = unbounded();
    let (fate, ok) = match inbox {
        None => (RpcFate::Unreachable, false),
        Some(_) if labs::rand::gen_bool(0.2) => {
            sleep(Duration::from_millis(20));
            (RpcFate::RequestDropped, false)
        }
        Some(inbox) => match inbox.send(Append { term, index, reply: tx }) {
            Ok(()) => match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(ok) => (RpcFate::Delivered, ok),
                Err(_) => (RpcFate::ServerDead, false),
            },
            Err(_) => {
                sleep(Duration::from_millis(20));
                (RpcFate::ServerDead, false)
            }
        },
    };
    events::record_at(
        t0,
        EventKind::Rpc {
            to: to.to_string(),
            method: "Raft.AppendEntries".into(),
            done: events::now(),
            fate,
            bytes: 96 + 8 * index,
            delayed: false,
        },
    );
    ok
}

/// Starts follower `i` on a new node and returns the node and its inbox.
fn follower(world: &World, i: usize) -> (Node, Sender<Append>) {
    let (tx, rx) = unbounded::<Append>();
    let node = world.node(format!("server-{i}"));
    node.spawn("follower", move || {
        events::node_state("follower", 0, 0);
        let mut term = 0;
        while let Ok(m) = rx.recv() {
            if m.term != term {
                term = m.term;
                log("INFO", "raft::follower", format!("new leader for term {term}"));
            }
            // Network and processing delay.
            sleep(Duration::from_micros(labs::rand::gen_range(800..3000)));
            events::node_state("follower", term, m.index);
            let _ = m.reply.send(true);
        }
    });
    (node, tx)
}

fn log(level: &str, target: &str, message: String) {
    events::record(EventKind::Log { level: level.into(), target: target.into(), message });
}

/// Three servers exchange messages over labs channels and report their state; a follower is
/// disconnected and another crashes and restarts, a client's read comes back stale, the checker
/// says so and the tester fails the run.
fn failing_scenario() -> Outcome {
    World::builder().seed(1).run(|| {
        let world = World::current();
        let (_n1, s1) = follower(&world, 1);
        let (n2, s2) = follower(&world, 2);
        let inboxes: Inboxes = Arc::new(Mutex::new(vec![s1, s2]));
        let disconnected = Arc::new(AtomicBool::new(false));
        let (boxes, cut) = (inboxes.clone(), disconnected.clone());
        let leader = world.node("server-0").spawn("leader", move || {
            events::node_state("follower", 0, 0);
            sleep(Duration::from_millis(30));
            events::node_state("candidate", 1, 0);
            log("INFO", "raft::election", "election timeout: becoming candidate for term 1".into());
            sleep(Duration::from_millis(5));
            events::node_state("leader", 1, 0);
            log("INFO", "raft::election", "won the election for term 1 with 3 votes".into());
            let start = Instant::now();
            let mut index = 0;
            while start.elapsed() < Duration::from_millis(400) {
                index += 1;
                let mut acks = 1;
                let targets = boxes.lock().clone();
                for (i, inbox) in targets.into_iter().enumerate() {
                    let reachable = !(i == 0 && cut.load(Ordering::Relaxed));
                    if call(&format!("server-{}", i + 1), reachable.then_some(inbox), 1, index) {
                        acks += 1;
                    }
                }
                if acks >= 2 {
                    events::node_state("leader", 1, index);
                } else {
                    let msg = format!("entry {index} has {acks} of 3 acks; not committed </script>");
                    log("WARN", "raft::replication", msg);
                }
                sleep(Duration::from_millis(10));
            }
        });
        let fault = |what: &str| events::record(EventKind::Fault { what: what.into() });
        let op = |client: u64, desc: &str, took_ms: Option<u64>| {
            let t = events::now();
            let ret = took_ms.map(|ms| {
                sleep(Duration::from_millis(ms));
                events::now()
            });
            events::record_at(t, EventKind::Op { client, ret, desc: desc.into() });
        };
        sleep(Duration::from_millis(60));
        events::note("checkOneLeader: leader is server-0");
        op(1, "put('x', '1')", Some(15));
        sleep(Duration::from_millis(40));
        fault("disconnect server-1");
        disconnected.store(true, Ordering::Relaxed);
        sleep(Duration::from_millis(80));
        op(2, "get('x') -> ''", Some(12));
        op(3, "append('x', '2')", None);
        sleep(Duration::from_millis(60));
        n2.kill();
        sleep(Duration::from_millis(80));
        let (_n2, s2) = follower(&world, 2);
        inboxes.lock()[1] = s2;
        sleep(Duration::from_millis(30));
        fault("connect server-1");
        disconnected.store(false, Ordering::Relaxed);
        let _ = leader.join();
        events::record(EventKind::Verdict {
            ok: false,
            text: "get('x') -> '' by client 2 cannot be ordered after put('x', '1') by client 1, which \
                   returned before it was called"
                .into(),
        });
        panic!("linearizability check failed: history is not linearizable (get('x') returned a stale value)");
    })
}

/// What the page's error trap caught: the contents of `#errors`.
fn script_errors(dom: &str) -> &str {
    let at = dom.find("id=\"errors\"").expect("no #errors element");
    let open = at + dom[at..].find('>').unwrap() + 1;
    &dom[open..open + dom[open..].find("</div>\n<header").or_else(|| dom[open..].find("<header")).unwrap()]
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        if let Some(path) = std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        {
            return Some(path);
        }
    }
    None
}

fn run_chromium(exe: &Path, extra: &[String], page: &Path) -> std::process::Output {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let profile = std::env::temp_dir().join(format!("distlab-chromium-{}", std::process::id()));
    Command::new(exe)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run"])
        .args([
            "--disable-dev-shm-usage",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium did not run")
}

/// A script that drives the page like a person: zoom with the wheel, hover a lane, click the
/// timeline, filter the log by text and hide a node; it notes what it saw on `#summary`.
const DRIVER: &str = r#"
window.addEventListener('load', function () {
  var S = document.getElementById('summary'), cv = document.getElementById('timeline');
  var r = cv.getBoundingClientRect();
  function at(x, y) { return { clientX: r.left + x, clientY: r.top + y, bubbles: true, cancelable: true }; }
  S.dataset.window0 = document.getElementById('window-label').textContent;
  cv.dispatchEvent(new WheelEvent('wheel', Object.assign({ deltaY: -400 }, at(500, 100))));
  setTimeout(function () {
    S.dataset.window = document.getElementById('window-label').textContent;
    cv.dispatchEvent(new MouseEvent('mousemove', at(420, 100)));
    var tip = document.getElementById('tooltip');
    S.dataset.tooltip = tip.hidden ? '' : tip.textContent;
    cv.dispatchEvent(new MouseEvent('mousedown', at(700, 100)));
    window.dispatchEvent(new MouseEvent('mouseup', at(700, 100)));
    var sel = document.querySelector('.lrow.sel');
    S.dataset.selected = sel ? sel.textContent : '';
    var tf = document.getElementById('text-filter');
    tf.value = 'election';
    tf.dispatchEvent(new Event('input'));
    var cb = document.querySelector('.node-filter[value="server-1"]');
    cb.checked = false;
    cb.dispatchEvent(new Event('change'));
    setTimeout(function () {
      S.dataset.afterFilter = document.getElementById('log-count').textContent;
      S.dataset.cols = Array.prototype.map.call(document.querySelectorAll('#log-head .col-head'),
        function (e) { return e.textContent; }).join(',');
      S.dataset.driven = 'true';
    }, 400);
  }, 100);
});
"#;

fn attr<'a>(dom: &'a str, element_id: &str, name: &str) -> &'a str {
    let start =
        dom.find(&format!("id=\"{element_id}\"")).unwrap_or_else(|| panic!("no #{element_id} in the DOM"));
    let tag_end = start + dom[start..].find('>').unwrap();
    let tag = &dom[..tag_end];
    let key = format!("{name}=\"");
    let at = tag[start..].find(&key).map(|i| start + i + key.len());
    let at = at.unwrap_or_else(|| {
        // Attributes may come before the id.
        let open = tag.rfind('<').unwrap();
        open + tag[open..].find(&key).unwrap_or_else(|| panic!("#{element_id} has no {name}")) + key.len()
    });
    &dom[at..at + dom[at..].find('"').unwrap()]
}

#[test]
fn the_report_of_a_failing_run_renders_in_a_browser() {
    let Some(exe) = chromium() else {
        let required =
            std::env::var_os("CI").is_some() || std::env::var("LAB_BROWSER_TEST").is_ok_and(|v| v == "1");
        if required {
            panic!("chromium is not installed; the report's browser test needs it: apt-get install chromium");
        }
        println!("skipped: chromium not installed (set LAB_BROWSER_TEST=1 to require it)");
        return;
    };
    let outcome = failing_scenario();
    let failure = outcome.result.as_ref().expect_err("the scenario fails on purpose");
    assert!(failure.message.contains("not linearizable"), "{}", failure.message);
    let rpcs = outcome.events.iter().filter(|e| matches!(e.kind, EventKind::Rpc { .. })).count();
    assert!(rpcs > 30, "the scenario made {rpcs} RPCs");
    for fate in [RpcFate::Delivered, RpcFate::RequestDropped, RpcFate::Unreachable, RpcFate::ServerDead] {
        assert!(
            outcome.events.iter().any(|e| matches!(&e.kind, EventKind::Rpc { fate: f, .. } if *f == fate)),
            "no {fate:?} RPC"
        );
    }

    let title = "report_browser::the_report_of_a_failing_run_renders_in_a_browser";
    let replay = "LAB_SEED=1 cargo test -p labs --test report_browser";
    let html = labs::harness::write_report(title, replay, &outcome).unwrap();

    let dom = run_chromium(&exe, &["--dump-dom".to_string()], &html);
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success() && !text.is_empty(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert_eq!(script_errors(&text), "", "the page reported script errors");
    assert_eq!(attr(&text, "summary", "data-ready"), "true", "the page did not finish rendering");
    assert_eq!(attr(&text, "summary", "data-rpcs"), rpcs.to_string());
    let nodes = attr(&text, "summary", "data-nodes");
    for n in ["server-0", "server-1", "server-2", "tester"] {
        assert!(nodes.split(',').any(|x| x == n), "data-nodes {nodes:?} lacks {n}");
        assert!(text.contains(&format!("data-node=\"{n}\"")), "no DOM element for node {n}");
    }
    assert!(attr(&text, "summary", "data-verdict").contains("cannot be ordered after put("));
    assert_eq!(attr(&text, "summary", "data-verdict-ok"), "false");
    assert_eq!(attr(&text, "summary", "data-failed"), "true");
    assert!(text.contains("linearizability check failed"), "the verdict is not shown");
    assert!(text.contains("class=\"lrow"), "the log table has no rows");

    // Drive a copy of the page: zoom, hover, click, filter.
    let driven = std::env::temp_dir().join(format!("distlab-report-driven-{}.html", std::process::id()));
    let page = std::fs::read_to_string(&html).unwrap();
    let body_end = page.rfind("</body>").unwrap();
    std::fs::write(&driven, format!("{}<script>{DRIVER}</script>\n{}", &page[..body_end], &page[body_end..]))
        .unwrap();
    let out = run_chromium(&exe, &["--dump-dom".to_string()], &driven);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(script_errors(&dom), "", "script errors while driving the page");
    assert_eq!(attr(&dom, "summary", "data-driven"), "true", "the driver did not finish");
    assert!(attr(&dom, "summary", "data-window").contains(" ms"), "no view window shown");
    assert_ne!(
        attr(&dom, "summary", "data-window"),
        attr(&dom, "summary", "data-window0"),
        "wheel did not zoom"
    );
    assert!(attr(&dom, "summary", "data-tooltip").contains("server-0"), "no tooltip over server-0's lane");
    assert!(
        !attr(&dom, "summary", "data-selected").is_empty(),
        "a click on the timeline selected no log row"
    );
    assert!(attr(&dom, "summary", "data-after-filter").starts_with("2 of "), "text filter");
    assert_eq!(attr(&dom, "summary", "data-cols"), "server-0,server-2,tester", "node filter");
    let _ = std::fs::remove_file(&driven);

    let shot = html.with_extension("png");
    let out = run_chromium(
        &exe,
        &[format!("--screenshot={}", shot.display()), "--window-size=1400,900".to_string()],
        &html,
    );
    assert!(out.status.success(), "screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("no screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "the screenshot looks empty");

    // A run whose event log dropped its middle: the header counts the whole run.
    let ops = outcome.events.iter().filter(|e| matches!(e.kind, EventKind::Op { .. })).count() as u64;
    let recorded =
        report::Recorded { events: 10 * outcome.events.len() as u64, rpcs: 10 * rpcs as u64, ops: 10 * ops };
    let partial = html.with_file_name(format!("distlab-report-partial-{}.html", std::process::id()));
    let input = report::ReportInput {
        title,
        seed: outcome.seed,
        backend: "sim".to_string(),
        replay,
        failure: Some(failure.message.as_str()),
        events: &outcome.events,
        recorded: Some(recorded),
    };
    report::write_html(&partial, &input).unwrap();
    let out = run_chromium(&exe, &["--dump-dom".to_string()], &partial);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(script_errors(&dom), "", "script errors on the page of a partial log");
    assert_eq!(attr(&dom, "summary", "data-rpcs"), rpcs.to_string());
    assert_eq!(attr(&dom, "summary", "data-rpcs-recorded"), recorded.rpcs.to_string());
    assert_eq!(attr(&dom, "summary", "data-ops-recorded"), recorded.ops.to_string());
    // The page writes counts as en-US does: 12,345.
    let digits = rpcs.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let kept = format!("RPCs ({grouped} kept)");
    assert!(dom.contains(&kept), "the header does not say `{kept}`");
    let _ = std::fs::remove_file(&partial);
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("distlab-chromium-{}", std::process::id())),
    );
    println!("report:     {}", html.display());
    println!("screenshot: {}", shot.display());
    println!("render:     {} ms in the page", attr(&text, "summary", "data-render-ms"));
}
