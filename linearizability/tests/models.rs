//! Small hand-made histories for each model: legal, illegal, concurrent, and with unknown
//! outcomes; plus bad input (return before call, malformed files).

use std::time::Duration;

use linearizability::parse::{parse_jepsen, parse_kv};
use linearizability::{
    CheckResult, Checker, HistoryError, KvInput, KvMapModel, KvModel, KvOutput, Model, Operation,
    PartitionStatus, RegisterInput, RegisterModel, RegisterOutput, Report,
};

const BUDGET: Duration = Duration::from_secs(10);

type KvOp = Operation<KvInput, KvOutput>;
type RegOp = Operation<RegisterInput, RegisterOutput>;

fn op<I, O>(client: usize, input: I, call: u64, output: O, ret: u64) -> Operation<I, O> {
    Operation::new(client, input, call, output, ret).unwrap()
}

fn put(c: usize, k: &str, v: &str, call: u64, ret: u64) -> KvOp {
    op(c, KvInput::put(k, v), call, KvOutput::none(), ret)
}

fn append(c: usize, k: &str, v: &str, call: u64, ret: u64) -> KvOp {
    op(c, KvInput::append(k, v), call, KvOutput::none(), ret)
}

fn get(c: usize, k: &str, v: &str, call: u64, ret: u64) -> KvOp {
    op(c, KvInput::get(k), call, KvOutput::value(v), ret)
}

fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> Report {
    Checker::new().budget(BUDGET).check(model, ops)
}

fn ok<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) {
    let r = check(model, ops);
    assert!(r.is_linearizable(), "expected linearizable, got: {r}");
}

fn bad<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> Report {
    let r = check(model, ops);
    assert!(matches!(r.result(), CheckResult::NotLinearizable(_)), "expected not linearizable, got: {r}");
    r
}

// ---- KV ----

#[test]
fn kv_sequential_legal() {
    let h = [
        put(0, "x", "1", 0, 1),
        get(1, "x", "1", 2, 3),
        append(0, "x", "2", 4, 5),
        get(1, "x", "12", 6, 7),
        get(1, "y", "", 8, 9),
    ];
    ok(&KvModel, &h);
    ok(&KvMapModel, &h);
    ok(&KvModel, &[]);
}

#[test]
fn kv_stale_read_is_illegal() {
    let h = [put(0, "x", "1", 0, 1), put(0, "x", "2", 2, 3), get(1, "x", "1", 4, 5)];
    let r = bad(&KvModel, &h);
    bad(&KvMapModel, &h);
    let CheckResult::NotLinearizable(e) = r.result() else { unreachable!() };
    assert_eq!(e.partition, "key \"x\"");
    assert_eq!(e.prefix.len(), 2);
    assert_eq!(e.state, "\"2\"");
    assert_eq!(e.candidates.len(), 1);
    assert_eq!(e.candidates[0].description, "get(\"x\") -> \"1\"");
    let text = r.to_string();
    assert!(text.contains("not linearizable"), "{text}");
    assert!(text.contains("get(\"x\") -> \"1\""), "{text}");
}

#[test]
fn kv_concurrent_ops_may_take_either_order() {
    // The get overlaps both puts: it may see either.
    for seen in ["1", "2", ""] {
        ok(&KvModel, &[put(0, "x", "1", 0, 10), put(1, "x", "2", 1, 9), get(2, "x", seen, 2, 8)]);
    }
    // But two reads after both puts finished must agree with one final order.
    bad(
        &KvModel,
        &[
            put(0, "x", "1", 0, 10),
            put(1, "x", "2", 0, 10),
            get(2, "x", "1", 11, 12),
            get(2, "x", "2", 13, 14),
        ],
    );
    // Concurrent appends: the reads fix one order.
    ok(
        &KvModel,
        &[
            append(0, "x", "a", 0, 10),
            append(1, "x", "b", 0, 10),
            get(2, "x", "b", 1, 5),
            get(2, "x", "ba", 11, 12),
        ],
    );
    bad(
        &KvModel,
        &[
            append(0, "x", "a", 0, 10),
            append(1, "x", "b", 0, 10),
            get(2, "x", "b", 1, 5),
            get(2, "x", "ab", 11, 12),
        ],
    );
}

#[test]
fn kv_touching_times_count_as_concurrent() {
    // The get is called at the instant the put returns: it may be ordered either way.
    ok(&KvModel, &[put(0, "x", "1", 0, 5), get(1, "x", "", 5, 6)]);
    bad(&KvModel, &[put(0, "x", "1", 0, 5), get(1, "x", "", 6, 7)]);
}

#[test]
fn kv_unknown_outcomes() {
    // A put that never returned may have taken effect...
    ok(&KvModel, &[Operation::pending(0, KvInput::put("x", "1"), 0), get(1, "x", "1", 5, 6)]);
    // ...or not.
    ok(&KvModel, &[Operation::pending(0, KvInput::put("x", "1"), 0), get(1, "x", "", 5, 6)]);
    // But not before it was called.
    bad(&KvModel, &[get(1, "x", "1", 0, 1), Operation::pending(0, KvInput::put("x", "1"), 5)]);
    // Once seen, it stays.
    bad(
        &KvModel,
        &[Operation::pending(0, KvInput::put("x", "1"), 0), get(1, "x", "1", 5, 6), get(1, "x", "", 7, 8)],
    );
    // A get whose result is unknown is always legal.
    let unknown_get = Operation::unknown_output(1, KvInput::get("x"), 2, 3).unwrap();
    ok(&KvModel, &[put(0, "x", "1", 0, 1), unknown_get]);
}

#[test]
fn kv_partitions_are_reported() {
    let h = [put(0, "a", "1", 0, 1), get(1, "a", "1", 2, 3), put(0, "b", "1", 0, 1), get(1, "b", "2", 2, 3)];
    let r = bad(&KvModel, &h);
    let parts = r.partitions();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].name, "key \"a\"");
    assert_eq!(parts[0].status, PartitionStatus::Linearizable);
    assert_eq!(parts[1].status, PartitionStatus::NotLinearizable);
}

#[test]
fn first_failing_partition_is_explained_deterministically() {
    // Many failing keys: the explanation is always about the first one in key order.
    let mut h = Vec::new();
    for k in 0..20 {
        let key = format!("k{k:02}");
        h.push(put(0, &key, "1", 0, 1));
        h.push(get(1, &key, "2", 2, 3));
    }
    for threads in [1, 2, 4] {
        let r = Checker::new().threads(threads).budget(BUDGET).check(&KvModel, &h);
        let CheckResult::NotLinearizable(e) = r.result() else { panic!("{r}") };
        assert_eq!(e.partition, "key \"k00\"");
    }
}

// ---- register ----

fn read(c: usize, v: Option<i64>, call: u64, ret: u64) -> RegOp {
    op(c, RegisterInput::Read, call, RegisterOutput::Read(v), ret)
}

fn write(c: usize, v: i64, call: u64, ret: u64) -> RegOp {
    op(c, RegisterInput::Write(v), call, RegisterOutput::Write, ret)
}

fn cas(c: usize, from: i64, to: i64, okay: bool, call: u64, ret: u64) -> RegOp {
    op(c, RegisterInput::Cas { from, to }, call, RegisterOutput::Cas(okay), ret)
}

#[test]
fn register_legal_and_illegal() {
    ok(
        &RegisterModel,
        &[read(0, None, 0, 1), write(0, 1, 2, 3), cas(1, 1, 2, true, 4, 5), read(0, Some(2), 6, 7)],
    );
    // A cas that failed although the register held `from`.
    bad(&RegisterModel, &[write(0, 1, 0, 1), cas(1, 1, 2, false, 2, 3)]);
    // A cas that succeeded although it did not.
    bad(&RegisterModel, &[write(0, 3, 0, 1), cas(1, 1, 2, true, 2, 3)]);
    // A read of a value never written.
    bad(&RegisterModel, &[write(0, 1, 0, 1), read(1, Some(7), 2, 3)]);
}

#[test]
fn register_concurrent() {
    // Two concurrent cas from the same value: only one may succeed...
    ok(&RegisterModel, &[write(0, 0, 0, 1), cas(1, 0, 1, true, 2, 10), cas(2, 0, 2, false, 2, 10)]);
    bad(&RegisterModel, &[write(0, 0, 0, 1), cas(1, 0, 1, true, 2, 10), cas(2, 0, 2, true, 2, 10)]);
    // ...unless the first one's effect was undone in between.
    ok(
        &RegisterModel,
        &[write(0, 0, 0, 1), cas(1, 0, 1, true, 2, 10), cas(2, 0, 2, true, 2, 10), cas(3, 1, 0, true, 2, 10)],
    );
}

/// The search tries only one of several identical candidates: it must be the one that returns
/// first. Here trying the later write first would force the earlier one in before the first
/// read, and leave no write of 1 for the last read.
#[test]
fn identical_operations_keep_the_one_that_returns_first() {
    let history = [
        write(1, 1, 0, 50),
        write(0, 1, 0, 5),
        read(2, Some(1), 6, 7),
        write(3, 2, 8, 9),
        read(2, Some(1), 10, 11),
    ];
    ok(&RegisterModel, &history);
    let mut reversed = history.clone();
    reversed.swap(0, 1);
    ok(&RegisterModel, &reversed);
    // Without the second write of 1 the last read is stale.
    bad(&RegisterModel, &history[1..]);
}

#[test]
fn register_unknown_outcomes() {
    // A timed-out read (known return, unknown value) is always legal.
    let timed_out = Operation::unknown_output(1, RegisterInput::Read, 2, 3).unwrap();
    ok(&RegisterModel, &[write(0, 1, 0, 1), timed_out]);
    // A write that never returned may take effect late, or never.
    let lost = Operation::pending(0, RegisterInput::Write(5), 0);
    ok(&RegisterModel, &[lost.clone(), read(1, None, 1, 2), read(1, Some(5), 3, 4)]);
    ok(&RegisterModel, &[lost.clone(), read(1, None, 1, 2), read(1, None, 3, 4)]);
    bad(&RegisterModel, &[lost, read(1, Some(5), 1, 2), read(1, None, 3, 4)]);
    // A cas that never returned applies only if the register held `from`.
    let pending_cas = Operation::pending(2, RegisterInput::Cas { from: 1, to: 9 }, 0);
    ok(&RegisterModel, &[pending_cas.clone(), write(0, 1, 1, 2), read(1, Some(9), 3, 4)]);
    bad(&RegisterModel, &[pending_cas, write(0, 2, 1, 2), read(1, Some(9), 3, 4)]);
}

#[test]
fn jepsen_text_is_checked_end_to_end() {
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
               INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n\
               INFO  jepsen.util - 2\t:ok\t:read\t2\n\
               INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 3\t:ok\t:read\t1\n";
    // The timed-out cas took effect before the read of 2; the later read of 1 is then stale.
    bad(&RegisterModel, &parse_jepsen(log).unwrap());
    let fixed = log.replace(":ok\t:read\t1", ":ok\t:read\t2");
    ok(&RegisterModel, &parse_jepsen(&fixed).unwrap());
}

// ---- bad input ----

#[test]
fn return_before_call_is_rejected() {
    let err = Operation::new(3, KvInput::get("x"), 10, KvOutput::value(""), 4).unwrap_err();
    assert_eq!(err, HistoryError::ReturnBeforeCall { client: 3, call: 10, ret: 4 });
    let msg = err.to_string();
    assert!(msg.contains("client 3") && msg.contains("before its call"), "{msg}");
}

#[test]
fn malformed_files_name_the_line() {
    let kv = "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"1\"}\n\
              {:process 0, :type :ok, :f :put, :key \"a\" :value \"1\"}\n\
              {:process 0, :type :invoke, :f :get, :key \"a\", :valu nil}\n";
    let err = parse_kv(kv).unwrap_err();
    assert_eq!(err.line(), Some(3), "{err}");
    assert!(err.to_string().starts_with("line 3: expected a :value field"), "{err}");

    let jepsen = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tseven\n";
    let err = parse_jepsen(jepsen).unwrap_err();
    assert_eq!(err.line(), Some(2), "{err}");
    assert!(err.to_string().contains("expected"), "{err}");

    // Garbage never panics.
    for text in ["{", "}", "{:", "{:a", "{:a \"", "{:a \"\\", "\u{0}", "INFO", "INFO jepsen.util - 1 :ok"] {
        assert!(parse_kv(text).is_err(), "{text:?}");
        assert!(parse_jepsen(text).is_err(), "{text:?}");
    }
}

// ---- budget ----

#[allow(
    clippy::disallowed_methods,
    reason = "the checker is not lab code: golden histories and visualisations are files on the real disk"
)]
#[test]
fn exhausted_budget_is_unknown_not_a_pass() {
    // 40 concurrent appends of distinct values and a read of none of the orders: the search must
    // explore a huge space, and a zero budget cannot finish it.
    let mut h: Vec<KvOp> = (0..40).map(|i| append(i, "x", &format!("<{i}>"), 0, 100)).collect();
    h.push(get(99, "x", "impossible", 101, 102));
    let r = Checker::new().budget(Duration::ZERO).check(&KvModel, &h);
    let CheckResult::Unknown { budget } = r.result() else { panic!("expected unknown, got {r}") };
    assert_eq!(*budget, Duration::ZERO);
    assert!(!r.is_linearizable());
    let msg = r.to_string();
    assert!(msg.contains("not a pass") && msg.contains("key \"x\""), "{msg}");
    let path = r.write_visualization_to_temp().unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("timed out"));
    std::fs::remove_file(path).unwrap();
    let err = r.require_linearizable().unwrap_err();
    let (_, written) = err.split_once("wrote history visualization to ").expect("names the file");
    std::fs::remove_file(written.trim()).unwrap();
}

/// A history handed over (`check_owned`, what the lab testers use) is judged and explained as
/// the same history lent (`check`), and a failing check still draws it.
#[allow(
    clippy::disallowed_methods,
    reason = "the checker is not lab code: visualisations are files on the real disk"
)]
#[test]
fn an_owned_history_is_checked_as_a_borrowed_one() {
    let bad = vec![put(0, "x", "1", 0, 10), get(1, "x", "2", 20, 30), put(2, "y", "3", 0, 5)];
    let good = vec![put(0, "x", "1", 0, 10), get(1, "x", "1", 20, 30)];
    for h in [bad, good] {
        let lent = Checker::new().check(&KvModel, &h);
        let owned = Checker::new().check_owned(&KvModel, h.clone());
        assert_eq!(owned.to_string(), lent.to_string());
        assert_eq!(owned.is_linearizable(), lent.is_linearizable());
        if !owned.is_linearizable() {
            let path = owned.write_visualization_to_temp().unwrap();
            let page = std::fs::read_to_string(&path).unwrap();
            // The page embeds the descriptions as JSON strings.
            assert!(page.contains(r#"put(\"y\", \"3\")"#), "the page draws every partition, key y included");
            std::fs::remove_file(path).unwrap();
        }
    }
}

// ---- against brute force ----

/// A tiny deterministic PRNG (xorshift), so the test needs nothing else.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Tries every order of `ops` that respects real time (`a` must precede `b` if `a` returned
/// before `b` was called); operations that never returned and have no known output may also be
/// left out at the end.
fn brute_force<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        done: &mut Vec<bool>,
        state: M::State,
    ) -> bool {
        let open: Vec<usize> = (0..ops.len()).filter(|&i| !done[i]).collect();
        if open.iter().all(|&i| ops[i].ret().is_none() && ops[i].output().is_none()) {
            return true; // the rest may never take effect
        }
        for &i in &open {
            let blocked = open.iter().any(|&j| ops[j].ret().is_some_and(|r| r < ops[i].call()));
            if blocked {
                continue;
            }
            if let Some(next) = model.step(&state, ops[i].input(), ops[i].output()) {
                done[i] = true;
                if go(model, ops, done, next) {
                    return true;
                }
                done[i] = false;
            }
        }
        false
    }
    go(model, ops, &mut vec![false; ops.len()], model.init())
}

/// Random times: some operations overlap, some touch, some never return.
fn random_times(rng: &mut Rng) -> (u64, u64) {
    let call = rng.below(12);
    let ret = if rng.below(8) == 0 { linearizability::NEVER } else { call + rng.below(6) };
    (call, ret)
}

#[test]
fn kv_agrees_with_brute_force() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut legal, mut illegal) = (0, 0);
    for _ in 0..3000 {
        let n = 1 + rng.below(7) as usize;
        let ops: Vec<KvOp> = (0..n)
            .map(|c| {
                let (call, ret) = random_times(&mut rng);
                let key = ["a", "b"][rng.below(2) as usize];
                let v = ["", "x", "y", "xy", "yx", "xx"][rng.below(6) as usize];
                let input = match rng.below(3) {
                    0 => KvInput::get(key),
                    1 => KvInput::put(key, &v[..v.len().min(1)]),
                    _ => KvInput::append(key, &v[..v.len().min(1)]),
                };
                let output = match rng.below(5) {
                    0 => None,
                    _ => Some(KvOutput::value(v)),
                };
                let ret = if output.is_none() && ret != linearizability::NEVER && rng.below(2) == 0 {
                    linearizability::NEVER
                } else {
                    ret
                };
                Operation::with_output(c, input, call, output, ret).unwrap()
            })
            .collect();
        let want = brute_force(&KvMapModel, &ops);
        for (name, got) in [
            ("KvModel", check(&KvModel, &ops).is_linearizable()),
            ("KvMapModel", check(&KvMapModel, &ops).is_linearizable()),
            ("KvModel, 1 thread", Checker::new().threads(1).check(&KvModel, &ops).is_linearizable()),
        ] {
            assert_eq!(got, want, "{name} disagrees with brute force on {ops:#?}");
        }
        if want { legal += 1 } else { illegal += 1 }
    }
    assert!(legal > 300 && illegal > 300, "{legal} legal, {illegal} illegal: a poor mix");
}

#[test]
fn register_agrees_with_brute_force() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut legal, mut illegal) = (0, 0);
    for _ in 0..3000 {
        let n = 1 + rng.below(8) as usize;
        let ops: Vec<RegOp> = (0..n)
            .map(|c| {
                let (call, ret) = random_times(&mut rng);
                let v = rng.below(3) as i64;
                let (input, output) = match rng.below(3) {
                    0 => (RegisterInput::Read, RegisterOutput::Read([None, Some(v)][rng.below(2) as usize])),
                    1 => (RegisterInput::Write(v), RegisterOutput::Write),
                    _ => (
                        RegisterInput::Cas { from: v, to: rng.below(3) as i64 },
                        RegisterOutput::Cas(rng.below(2) == 0),
                    ),
                };
                let output = (rng.below(5) != 0 && ret != linearizability::NEVER).then_some(output);
                Operation::with_output(c, input, call, output, ret).unwrap()
            })
            .collect();
        let want = brute_force(&RegisterModel, &ops);
        assert_eq!(
            check(&RegisterModel, &ops).is_linearizable(),
            want,
            "disagrees with brute force on {ops:#?}"
        );
        if want { legal += 1 } else { illegal += 1 }
    }
    assert!(legal > 300 && illegal > 300, "{legal} legal, {illegal} illegal: a poor mix");
}

/// A model that panics on one key: the panic reaches the caller (no worker is left waiting).
#[derive(Clone)]
struct Touchy;

impl Model for Touchy {
    type Input = KvInput;
    type Output = KvOutput;
    type State = String;

    fn init(&self) -> String {
        String::new()
    }

    #[allow(clippy::disallowed_methods, reason = "a slow model, to outlast the checker's time alone")]
    fn step(&self, state: &String, input: &KvInput, _output: Option<&KvOutput>) -> Option<String> {
        assert!(!input.key.ends_with("boom"), "the model refuses key {}", input.key);
        if input.key.starts_with("slow") {
            std::thread::sleep(Duration::from_micros(200));
        }
        Some(state.clone())
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<linearizability::Partition> {
        KvModel.partition(ops)
    }

    fn describe_operation(&self, input: &KvInput, _output: Option<&KvOutput>) -> String {
        format!("{input:?}")
    }
}

#[test]
fn a_panicking_model_does_not_hang_the_checker() {
    let mut h: Vec<KvOp> = (0..50).map(|i| put(i, &format!("k{i}"), "v", 0, 1)).collect();
    h.push(put(99, "boom", "v", 0, 1));
    for threads in [1, 2, 4] {
        let result = std::panic::catch_unwind(|| Checker::new().threads(threads).check(&Touchy, &h));
        let payload = result.expect_err("the model's panic comes through");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(ToString::to_string))
            .unwrap_or_default();
        assert!(msg.contains("refuses key boom"), "{msg}");
    }
}

/// The same once the checker has started its other threads (it searches alone for its first
/// millisecond): the slow partitions come first, the panicking one last.
#[test]
fn a_panicking_model_does_not_hang_the_checker_once_threads_start() {
    let mut h: Vec<KvOp> = (0..20).map(|i| put(i, &format!("slow{i:02}"), "v", 0, 1)).collect();
    h.push(put(99, "zz-boom", "v", 0, 1));
    for threads in [2, 4] {
        let result = std::panic::catch_unwind(|| Checker::new().threads(threads).check(&Touchy, &h));
        let payload = result.expect_err("the model's panic comes through");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(ToString::to_string))
            .unwrap_or_default();
        assert!(msg.contains("refuses key zz-boom"), "{msg}");
    }
}
