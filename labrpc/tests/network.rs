//! labrpc's own suite (6.5840 `labrpc/test_test.go`) plus bad-input and determinism cases.
//! `make test` runs it under sim and again with `LAB_RUNTIME=real`.

use labrpc::{CallError, ClientEnd, Network, Server, Service};
use labs::sync::{Arc, Mutex, unbounded};
use labs::time::{Duration, Instant, sleep};
use labs::world::{Backend, World};
use serde::{Deserialize, Serialize};

/// The junk service of the Go tests: int -> string, string -> int, and a sleeper.
#[derive(Default)]
struct Junk {
    log: Mutex<Vec<String>>,
}

fn junk_service(j: Arc<Junk>) -> Service {
    let (j1, j2) = (j.clone(), j.clone());
    Service::new("JunkServer")
        .handler("Handler1", move |args: String| -> i64 {
            j1.log.lock().push(args.clone());
            args.parse().unwrap_or(-1)
        })
        .handler("Handler2", move |args: i64| -> String {
            j2.log.lock().push(args.to_string());
            format!("handler2-{args}")
        })
        .handler("Handler3", |args: i64| -> i64 {
            sleep(Duration::from_secs(20));
            -args
        })
        .handler("Handler4", |_args: i64| -> String { "x".repeat(107) })
        .handler("Panic", |_args: i64| -> i64 { panic!("handler exploded") })
}

/// A network with one junk server named `server` on its own node.
fn setup() -> (Network, Arc<Junk>, Server) {
    let net = Network::new();
    let junk = Arc::new(Junk::default());
    let server = Server::new(&World::current().node("server"));
    server.add_service(junk_service(junk.clone()));
    net.add_server("server", server.clone());
    (net, junk, server)
}

fn end(net: &Network, name: &str) -> ClientEnd {
    let e = net.make_end(name);
    net.connect(name, "server");
    net.enable(name, true);
    e
}

fn in_both_backends(f: fn()) {
    // The suite runs under the backend the environment asks for; this helper is for cases
    // that must be checked under both in one run.
    for b in [Backend::Sim, Backend::Real] {
        World::builder().seed(11).backend(b).run(f).result.unwrap_or_else(|e| panic!("{b}: {e}"));
    }
}

labs::lab_test! {
    /// 6.5840: TestBasic
    fn typed_handlers_return_replies() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        let r: String = e.call("JunkServer.Handler2", &111i64).unwrap();
        assert_eq!(r, "handler2-111");
        let r: i64 = e.call("JunkServer.Handler1", &"9099".to_string()).unwrap();
        assert_eq!(r, 9099);
    }

    /// 6.5840: TestTypes (Rust handlers take owned, typed arguments; the check is that two
    /// handlers of different argument types both work).
    fn handlers_of_different_types_both_work() {
        let (net, junk, _) = setup();
        let e = end(&net, "end1-99");
        let _: i64 = e.call("JunkServer.Handler1", &"9".to_string()).unwrap();
        let _: String = e.call("JunkServer.Handler2", &9i64).unwrap();
        assert_eq!(junk.log.lock().len(), 2);
    }

    /// 6.5840: TestDisconnect
    fn a_disabled_end_gets_no_reply_until_enabled() {
        let (net, _, _) = setup();
        let e = net.make_end("end1-99");
        net.connect("end1-99", "server");
        let r = e.call::<_, String>("JunkServer.Handler2", &111i64);
        assert!(matches!(r, Err(CallError::Unreachable { .. })), "{r:?}");
        net.enable("end1-99", true);
        let r: i64 = e.call("JunkServer.Handler1", &"9099".to_string()).unwrap();
        assert_eq!(r, 9099);
    }

    /// 6.5840: TestCounts
    fn count_is_the_number_of_delivered_calls() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        for i in 0..17i64 {
            let r: String = e.call("JunkServer.Handler2", &i).unwrap();
            assert_eq!(r, format!("handler2-{i}"));
        }
        assert_eq!(net.count("server"), 17);
    }

    /// 6.5840: TestBytes
    fn bytes_count_encoded_arguments_and_delivered_replies() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        let arg = "x".repeat(288);
        for _ in 0..17 {
            let _: i64 = e.call("JunkServer.Handler1", &arg).unwrap();
        }
        let n = net.total_bytes();
        assert!((4828..=6000).contains(&n), "wrong byte count {n}, expected 4828..=6000");
        for _ in 0..17 {
            let r: String = e.call("JunkServer.Handler4", &1i64).unwrap();
            assert_eq!(r.len(), 107);
        }
        let d = net.total_bytes() - n;
        assert!((1800..=2500).contains(&d), "wrong byte count {d}, expected 1800..=2500");
    }

    /// 6.5840: TestConcurrentMany
    fn many_ends_call_concurrently() {
        let (net, _, _) = setup();
        let (tx, rx) = unbounded::<usize>();
        for i in 0..20 {
            let e = end(&net, &format!("end-{i}"));
            let tx = tx.clone();
            World::current().node(format!("client-{i}")).spawn("caller", move || {
                let mut n = 0;
                for j in 0..10i64 {
                    let r: String = e.call("JunkServer.Handler2", &(i * 100 + j)).unwrap();
                    assert_eq!(r, format!("handler2-{}", i * 100 + j));
                    n += 1;
                }
                tx.send(n).unwrap();
            });
        }
        drop(tx);
        let total: usize = rx.iter().sum();
        assert_eq!(total, 200);
        assert_eq!(net.count("server"), 200);
    }

    /// 6.5840: TestUnreliable
    fn an_unreliable_network_loses_some_calls_but_not_all() {
        let (net, _, _) = setup();
        net.set_reliable(false);
        let (tx, rx) = unbounded::<bool>();
        for i in 0..300 {
            let e = end(&net, &format!("end-{i}"));
            let tx = tx.clone();
            World::current().node(format!("client-{i}")).spawn("caller", move || {
                let r = e.call::<_, String>("JunkServer.Handler2", &(i as i64));
                if let Ok(s) = &r {
                    assert_eq!(s, &format!("handler2-{i}"));
                }
                tx.send(r.is_ok()).unwrap();
            });
        }
        drop(tx);
        let ok = rx.iter().filter(|&b| b).count();
        assert!(ok != 0 && ok != 300, "{ok} of 300 calls succeeded; expected some but not all");
    }

    /// 6.5840: TestConcurrentOne
    fn many_calls_on_one_end_run_concurrently() {
        let (net, junk, _) = setup();
        let e = end(&net, "end1-99");
        let (tx, rx) = unbounded::<bool>();
        for i in 0..20i64 {
            let (e, tx) = (e.clone(), tx.clone());
            labs::thread::spawn(format!("caller-{i}"), move || {
                let r: String = e.call("JunkServer.Handler2", &(100 + i)).unwrap();
                tx.send(r == format!("handler2-{}", 100 + i)).unwrap();
            });
        }
        drop(tx);
        assert_eq!(rx.iter().filter(|&b| b).count(), 20);
        assert_eq!(junk.log.lock().len(), 20);
        assert_eq!(net.count("server"), 20);
    }

    /// 6.5840: TestRegression1
    fn calls_on_a_disabled_end_never_arrive_late() {
        let (net, junk, _) = setup();
        let e = net.make_end("end1-99");
        net.connect("end1-99", "server");
        let (tx, rx) = unbounded::<bool>();
        for i in 0..20i64 {
            let (e, tx) = (e.clone(), tx.clone());
            labs::thread::spawn(format!("caller-{i}"), move || {
                tx.send(e.call::<_, String>("JunkServer.Handler2", &(100 + i)).is_ok()).unwrap();
            });
        }
        sleep(Duration::from_millis(100));
        net.enable("end1-99", true);
        let t0 = Instant::now();
        let r: String = e.call("JunkServer.Handler2", &99i64).unwrap();
        assert_eq!(r, "handler2-99");
        let took = t0.elapsed();
        assert!(took <= Duration::from_millis(30), "the call took {took:?}; expected at most 30 ms");
        drop(tx);
        assert!(rx.iter().all(|ok| !ok), "a call made while the end was disabled was delivered");
        assert_eq!(junk.log.lock().len(), 1);
        assert_eq!(net.count("server"), 1);
    }

    /// 6.5840: TestKilled
    fn a_call_in_flight_fails_quickly_when_its_server_is_deleted() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        let (tx, rx) = unbounded::<(Result<i64, CallError>, Instant)>();
        labs::thread::spawn("caller", move || {
            let r = e.call::<_, i64>("JunkServer.Handler3", &99i64);
            tx.send((r, Instant::now())).unwrap();
        });
        sleep(Duration::from_secs(1));
        assert!(rx.try_recv().is_err(), "the call should still be pending after 1 s");
        net.delete_server("server");
        let deleted = Instant::now();
        let (r, at) = rx.recv_timeout(Duration::from_millis(100)).expect("no reply within 100 ms of delete_server");
        assert!(matches!(r, Err(CallError::ServerDead { .. })), "{r:?}");
        assert!(at - deleted <= Duration::from_millis(100));
    }

    /// 6.5840: TestLongDelayRace (2025): toggling long delays while a call to a deleted server
    /// is in flight is safe.
    fn toggling_long_delays_during_a_dead_call_is_safe() {
        let (net, _, _) = setup();
        net.set_long_delays(true);
        let e = end(&net, "end1-99");
        net.delete_server("server");
        let h = labs::thread::spawn("caller", move || e.call::<_, String>("JunkServer.Handler2", &1i64).is_err());
        for i in 0..10 {
            net.set_long_delays(i % 2 == 0);
            sleep(Duration::from_millis(10));
        }
        assert!(h.join().unwrap());
    }

    /// Unknown services and methods name what exists.
    fn unknown_service_or_method_lists_what_exists() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        let err = e.call::<_, i64>("Nope.Handler1", &1i64).unwrap_err();
        assert!(err.to_string().contains("has no service 'Nope'; it has: JunkServer"), "{err}");
        let err = e.call::<_, i64>("JunkServer.Nope", &1i64).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no method 'Nope'") && msg.contains("Handler1, Handler2"), "{msg}");
        let err = e.call::<_, i64>("NoDot", &1i64).unwrap_err();
        assert!(matches!(err, CallError::BadMethodName(_)), "{err}");
    }

    /// Arguments or replies of the wrong type give an error naming the method and the type.
    fn undecodable_arguments_or_replies_name_the_type() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        #[derive(Serialize, Deserialize, Debug)]
        struct Wide { a: u64, b: String }
        let err = e.call::<_, i64>("JunkServer.Handler2", &()).unwrap_err();
        assert!(matches!(&err, CallError::BadArgs { expected, .. } if expected == "i64"), "{err}");
        assert!(err.to_string().contains("JunkServer.Handler2"), "{err}");
        let err = e.call::<_, Wide>("JunkServer.Handler1", &"5".to_string()).unwrap_err();
        assert!(matches!(&err, CallError::BadReply { expected, .. } if expected.ends_with("Wide")), "{err}");
    }

    /// A panicking handler gives the caller an error naming the server and the message, and
    /// the network keeps serving.
    fn a_panicking_handler_fails_only_its_own_call() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        let err = e.call::<_, i64>("JunkServer.Panic", &1i64).unwrap_err();
        assert!(matches!(&err, CallError::HandlerPanicked { server, message, .. }
            if server == "server" && message == "handler exploded"), "{err}");
        let r: String = e.call("JunkServer.Handler2", &5i64).unwrap();
        assert_eq!(r, "handler2-5");
        assert_eq!(net.handler_panics(), vec!["server 'server' panicked in JunkServer.Panic: handler exploded"]);
    }

    /// After cleanup, calls fail at once.
    fn calls_after_cleanup_fail_at_once() {
        let (net, _, _) = setup();
        let e = end(&net, "end1-99");
        net.cleanup();
        let t0 = Instant::now();
        assert_eq!(e.call::<_, String>("JunkServer.Handler2", &1i64).unwrap_err(), CallError::NetworkClosed);
        assert!(t0.elapsed() < Duration::from_millis(1));
    }

}

/// Killing a server's node fails its pending calls and leaves other servers serving (sim: under
/// real a kill only sets the node's flag, as in 6.5840).
#[test]
fn killing_a_node_fails_its_calls_and_spares_the_others() {
    World::builder()
        .seed(3)
        .run(|| {
            let net = Network::new();
            let world = World::current();
            let (a, b) = (world.node("a"), world.node("b"));
            for (name, node) in [("a", &a), ("b", &b)] {
                let s = Server::new(node);
                s.add_service(junk_service(Arc::new(Junk::default())));
                net.add_server(name, s);
                let e = net.make_end(&format!("to-{name}"));
                net.connect(&format!("to-{name}"), name);
                net.enable(&format!("to-{name}"), true);
                drop(e);
            }
            let ea = net.make_end("x-a");
            net.connect("x-a", "a");
            net.enable("x-a", true);
            let eb = net.make_end("x-b");
            net.connect("x-b", "b");
            net.enable("x-b", true);
            let h = labs::thread::spawn("caller", move || ea.call::<_, i64>("JunkServer.Handler3", &1i64));
            sleep(Duration::from_millis(500));
            a.kill();
            let r = h.join().unwrap();
            assert!(r.is_err(), "{r:?}");
            let r: String = eb.call("JunkServer.Handler2", &3i64).unwrap();
            assert_eq!(r, "handler2-3");
        })
        .result
        .unwrap();
}

/// Two networks with the same seed make the same fault decisions for the same calls.
#[test]
fn the_same_seed_makes_the_same_fault_decisions() {
    fn run(seed: u64) -> Vec<bool> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        World::builder()
            .seed(seed)
            .backend(Backend::Sim)
            .run(move || {
                let (net, _, _) = setup();
                net.set_reliable(false);
                let e = end(&net, "e");
                for i in 0..200i64 {
                    o.lock().push(e.call::<_, String>("JunkServer.Handler2", &i).is_ok());
                }
            })
            .result
            .unwrap();
        out.lock().clone()
    }
    let a = run(5);
    assert_eq!(a, run(5));
    assert_ne!(a, run(6));
    assert!(a.iter().any(|&x| x) && a.iter().any(|&x| !x));
}

/// The labrpc suite's digest is the same for 100 runs of one seed (and differs across seeds).
#[test]
fn the_network_replays_exactly_under_one_seed() {
    fn scenario() {
        let (net, _, _) = setup();
        net.set_reliable(false);
        let (tx, rx) = unbounded::<bool>();
        for i in 0..10 {
            let e = end(&net, &format!("end-{i}"));
            let tx = tx.clone();
            World::current().node(format!("client-{i}")).spawn("caller", move || {
                for j in 0..5i64 {
                    tx.send(e.call::<_, String>("JunkServer.Handler2", &j).is_ok()).unwrap();
                }
            });
        }
        drop(tx);
        assert_eq!(rx.iter().count(), 50);
    }
    let digest = |seed| World::builder().seed(seed).run(scenario).digest;
    let first = digest(77);
    for _ in 0..100 {
        assert_eq!(digest(77), first);
    }
    assert_ne!(digest(78), first);
}

/// Handlers run on threads of the server's node and never stall other calls.
#[test]
fn a_blocked_handler_does_not_slow_other_calls() {
    in_both_backends(|| {
        let (net, _, _) = setup();
        let e = end(&net, "e");
        let slow = e.clone();
        labs::thread::spawn("slow", move || {
            let _ = slow.call::<_, i64>("JunkServer.Handler3", &1i64);
        });
        sleep(Duration::from_millis(50));
        let t0 = Instant::now();
        for i in 0..10i64 {
            let _: String = e.call("JunkServer.Handler2", &i).unwrap();
        }
        assert!(t0.elapsed() < Duration::from_secs(1), "calls were slowed by a blocked handler");
        net.cleanup();
    });
}

/// Beyond 6.5840: the tap is told of each request as it reaches its handler, when the handler
/// returns (before its caller gets the reply), and when the call returns, with the caller's node, the server's instance, the bytes and
/// stamps in one order.
#[test]
fn the_tap_sees_every_call_from_both_sides() {
    in_both_backends(|| {
        let (net, _, _) = setup();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        net.set_tap(Some(Arc::new(move |t: &labrpc::Tap| s.lock().push(t.clone()))));
        let e = end(&net, "e");
        let client = World::current().node("client-7");
        let r: String = client.enter(|| e.call("JunkServer.Handler2", &5i64)).unwrap();
        assert_eq!(r, "handler2-5");
        let seen = seen.lock().clone();
        assert_eq!(seen.len(), 3, "{seen:?}");
        let (labrpc::Tap::Arrived(a), labrpc::Tap::Handled(h), labrpc::Tap::Returned(r)) =
            (&seen[0], &seen[1], &seen[2])
        else {
            panic!("expected an arrival, a handled report, then a returned one: {seen:?}");
        };
        assert_eq!((a.call, a.at, &*a.node), (h.call, h.start, "server"));
        assert_eq!(
            (&*h.caller, &*h.server, &*h.node, &*h.method),
            ("client-7", "server", "server", "JunkServer.Handler2")
        );
        assert!(h.live && !h.duplicate);
        assert_eq!(postcard::from_bytes::<i64>(&h.args).unwrap(), 5);
        assert_eq!(postcard::from_bytes::<String>(h.reply.as_deref().unwrap()).unwrap(), "handler2-5");
        assert_eq!(r.call, h.call);
        assert_eq!(r.fate, labs::events::RpcFate::Delivered);
        assert!(r.sent < h.start && h.start < h.end && h.end < r.done, "{r:?} {h:?}");
        net.set_tap(None);
        let _: String = e.call("JunkServer.Handler2", &6i64).unwrap();
    });
}

/// Beyond 6.5840: a filter loses the request or the reply of the calls it picks, and only
/// those.
#[test]
fn a_filter_drops_chosen_requests_and_replies() {
    in_both_backends(|| {
        let (net, junk, _) = setup();
        net.set_filter(Some(Arc::new(|c: &labrpc::CallInfo<'_>| match c.end {
            "drop-req" => labrpc::Fault::DropRequest,
            "drop-reply" => labrpc::Fault::DropReply,
            _ => labrpc::Fault::None,
        })));
        let r = end(&net, "drop-req").call::<_, i64>("JunkServer.Handler1", &"1".to_string());
        assert!(matches!(r, Err(CallError::RequestDropped { .. })), "{r:?}");
        assert_eq!(junk.log.lock().len(), 0, "a dropped request reached its handler");
        let r = end(&net, "drop-reply").call::<_, i64>("JunkServer.Handler1", &"2".to_string());
        assert!(matches!(r, Err(CallError::ReplyDropped { .. })), "{r:?}");
        assert_eq!(junk.log.lock().len(), 1, "the handler of a dropped reply must run");
        let r: i64 = end(&net, "other").call("JunkServer.Handler1", &"3".to_string()).unwrap();
        assert_eq!(r, 3);
    });
}

/// Beyond 6.5840: with request delays, later calls often overtake earlier ones; with
/// duplication, some requests run twice. Both are off by default.
#[test]
fn request_delays_reorder_and_duplication_repeats() {
    World::builder()
        .seed(3)
        .run(|| {
            let (net, junk, _) = setup();
            let e = end(&net, "e");
            let run = |net: &Network| {
                junk.log.lock().clear();
                let (tx, rx) = unbounded();
                for i in 0..50 {
                    let (e, tx) = (e.clone(), tx.clone());
                    labs::thread::spawn("caller", move || {
                        let _ = e.call::<_, i64>("JunkServer.Handler1", &i.to_string());
                        tx.send(()).unwrap();
                    });
                    sleep(Duration::from_millis(5));
                }
                drop(tx);
                assert_eq!(rx.iter().count(), 50);
                sleep(Duration::from_millis(labrpc::DUPLICATE_DELAY_MS + 10));
                let _ = net;
                junk.log.lock().iter().map(|s| s.parse::<i64>().unwrap()).collect::<Vec<_>>()
            };
            let plain = run(&net);
            assert_eq!(plain, (0..50).collect::<Vec<_>>(), "a reliable network keeps order");
            net.set_request_delays(true);
            let delayed = run(&net);
            assert_eq!(delayed.len(), 50);
            assert!(delayed.windows(2).any(|w| w[0] > w[1]), "no request overtook another: {delayed:?}");
            net.set_request_delays(false);
            net.set_duplication(true);
            let duplicated = run(&net);
            assert!(duplicated.len() > 50, "no request was duplicated");
            let mut distinct = duplicated.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct, (0..50).collect::<Vec<_>>());
        })
        .result
        .unwrap();
}
