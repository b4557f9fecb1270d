//! The versioned KV model (Lab 2): hand-made histories, and agreement with a brute-force search
//! on thousands of random small histories, as `models.rs` does for the other models.

use std::time::Duration;

use linearizability::{
    CheckResult, Checker, Model, Operation, VersionedInput, VersionedKvModel, VersionedOutput,
};

type Op = Operation<VersionedInput, VersionedOutput>;

fn op(c: usize, input: VersionedInput, call: u64, output: VersionedOutput, ret: u64) -> Op {
    Operation::new(c, input, call, output, ret).unwrap()
}

fn value(v: &str, n: u64) -> VersionedOutput {
    VersionedOutput::Value { value: v.into(), version: n }
}

fn linearizable(ops: &[Op]) -> bool {
    Checker::new().budget(Duration::from_secs(10)).check(&VersionedKvModel, ops).is_linearizable()
}

#[test]
fn a_put_at_a_stale_version_must_fail() {
    let h = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Ok, 1),
        op(1, VersionedInput::put("k", "b", 0), 2, VersionedOutput::Ok, 3),
    ];
    let r = Checker::new().check(&VersionedKvModel, &h);
    let CheckResult::NotLinearizable(e) = r.result() else { panic!("expected not linearizable: {r}") };
    assert_eq!(e.partition, "key \"k\"");
    assert!(r.to_string().contains("put(\"k\", \"b\", 0) -> OK"), "{r}");
    let ok = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Ok, 1),
        op(1, VersionedInput::put("k", "b", 0), 2, VersionedOutput::Version, 3),
        op(1, VersionedInput::get("k"), 4, value("a", 1), 5),
    ];
    assert!(linearizable(&ok));
}

#[test]
fn err_maybe_may_or_may_not_have_applied() {
    // Applied: a later get sees it.
    let applied = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Maybe, 1),
        op(0, VersionedInput::get("k"), 2, value("a", 1), 3),
    ];
    assert!(linearizable(&applied));
    // Not applied: a concurrent put took the version first.
    let lost = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Maybe, 10),
        op(1, VersionedInput::put("k", "b", 0), 1, VersionedOutput::Ok, 2),
        op(0, VersionedInput::get("k"), 11, value("b", 1), 12),
    ];
    assert!(linearizable(&lost));
    // But a maybe-put alone at the right version cannot have been skipped.
    let skipped = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Maybe, 1),
        op(0, VersionedInput::get("k"), 2, VersionedOutput::NoKey, 3),
    ];
    assert!(!linearizable(&skipped));
}

#[test]
fn err_version_on_a_put_that_applied_is_illegal() {
    // The clerk that returns ErrVersion where it should say ErrMaybe.
    let h = [
        op(0, VersionedInput::put("k", "a", 0), 0, VersionedOutput::Version, 1),
        op(0, VersionedInput::get("k"), 2, value("a", 1), 3),
    ];
    assert!(!linearizable(&h));
}

// ---- against brute force ----

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Tries every order of `ops` that respects real time; operations that never returned and have
/// no known output may also be left out at the end.
fn brute_force<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        done: &mut Vec<bool>,
        state: M::State,
    ) -> bool {
        let open: Vec<usize> = (0..ops.len()).filter(|&i| !done[i]).collect();
        if open.iter().all(|&i| ops[i].ret().is_none() && ops[i].output().is_none()) {
            return true;
        }
        for &i in &open {
            if open.iter().any(|&j| ops[j].ret().is_some_and(|r| r < ops[i].call())) {
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

/// The versioned KV spec over the whole map, written independently of the model under test
/// (no partitioning, a plain map): the brute force's reference.
struct WholeMap;

impl Model for WholeMap {
    type Input = VersionedInput;
    type Output = VersionedOutput;
    type State = std::collections::BTreeMap<String, (String, u64)>;

    fn init(&self) -> Self::State {
        Self::State::new()
    }

    fn step(
        &self,
        s: &Self::State,
        input: &VersionedInput,
        output: Option<&VersionedOutput>,
    ) -> Option<Self::State> {
        match input {
            VersionedInput::Get { key } => {
                let ok = match (output, s.get(key)) {
                    (None, _) => true,
                    (Some(VersionedOutput::NoKey), None) => true,
                    (Some(VersionedOutput::Value { value, version }), Some((v, n))) => {
                        value == v && version == n
                    }
                    _ => false,
                };
                ok.then(|| s.clone())
            }
            VersionedInput::Put { key, value, version } => {
                let current = s.get(key).map_or(0, |(_, n)| *n);
                let mut applied = s.clone();
                applied.insert(key.clone(), (value.clone(), current + 1));
                let matches = *version == current;
                match output {
                    None | Some(VersionedOutput::Maybe) => Some(if matches { applied } else { s.clone() }),
                    Some(VersionedOutput::Ok) => matches.then_some(applied),
                    Some(VersionedOutput::Version) => (s.contains_key(key) && !matches).then(|| s.clone()),
                    Some(VersionedOutput::NoKey) => {
                        (!s.contains_key(key) && *version != 0).then(|| s.clone())
                    }
                    Some(VersionedOutput::Value { .. }) => None,
                }
            }
        }
    }

    fn describe_operation(&self, input: &VersionedInput, _output: Option<&VersionedOutput>) -> String {
        format!("{input:?}")
    }
}

#[test]
fn versioned_agrees_with_brute_force() {
    let mut rng = Rng(0x51ed_2701_aa17_4d3b);
    let (mut legal, mut illegal) = (0, 0);
    for _ in 0..4000 {
        let n = 1 + rng.below(7) as usize;
        let ops: Vec<Op> = (0..n)
            .map(|c| {
                let call = rng.below(12);
                let ret = if rng.below(8) == 0 { linearizability::NEVER } else { call + rng.below(6) };
                let key = ["a", "b"][rng.below(2) as usize];
                let v = ["x", "y"][rng.below(2) as usize];
                let version = rng.below(3);
                let (input, output) = if rng.below(2) == 0 {
                    let out =
                        if rng.below(3) == 0 { VersionedOutput::NoKey } else { value(v, 1 + rng.below(2)) };
                    (VersionedInput::get(key), out)
                } else {
                    let out = [
                        VersionedOutput::Ok,
                        VersionedOutput::Version,
                        VersionedOutput::NoKey,
                        VersionedOutput::Maybe,
                    ][rng.below(4) as usize]
                        .clone();
                    (VersionedInput::put(key, v, version), out)
                };
                let output = (rng.below(5) != 0 && ret != linearizability::NEVER).then_some(output);
                Operation::with_output(c, input, call, output, ret).unwrap()
            })
            .collect();
        let want = brute_force(&WholeMap, &ops);
        for (name, got) in [
            ("VersionedKvModel", linearizable(&ops)),
            (
                "VersionedKvModel, 1 thread",
                Checker::new().threads(1).check(&VersionedKvModel, &ops).is_linearizable(),
            ),
        ] {
            assert_eq!(got, want, "{name} disagrees with brute force on {ops:#?}");
        }
        if want { legal += 1 } else { illegal += 1 }
    }
    assert!(legal > 300 && illegal > 300, "{legal} legal, {illegal} illegal: a poor mix");
}
