//! Tests of the tester against mutants: a lab's reference with one rule broken (built by the
//! tests crate's `build.rs` from `mutants/*.mutant`) must fail the test that checks the rule on
//! at least 4 of the 5 seeds `make grade` runs, with a message that names the rule. One copy here
//! for every lab's `tester_robustness.rs`.

use labs::world::World;

/// The seeds `make grade` runs under sim.
pub const GRADE_SEEDS: std::ops::RangeInclusive<u64> = 1..=5;

/// Runs `body` (a suite test on the mutant `mutant`, which breaks `rule`) on the grade's seeds,
/// and requires it to fail on at least 4 of them with a message that contains every word of one
/// of `words`. Prints the fraction (`RULE-TABLE | ...`), for the handout's rule table.
#[track_caller]
pub fn must_catch(mutant: &str, rule: &str, test: &str, body: fn(), words: &[&[&str]]) {
    let mut caught = 0;
    let mut notes = Vec::new();
    for seed in GRADE_SEEDS {
        let out = World::builder().seed(seed).run(body);
        match &out.result {
            Ok(()) => notes.push(format!("seed {seed}: passed")),
            Err(f) if words.iter().any(|ws| ws.iter().all(|w| f.message.contains(w))) => caught += 1,
            Err(f) => notes.push(format!("seed {seed}: failed with another message:\n{}", f.message)),
        }
        if seed == 1
            && let Err(f) = &out.result
        {
            eprintln!("mutant {mutant} ({rule}), {test}, seed 1:\n{}", f.message);
        }
    }
    eprintln!("RULE-TABLE | {mutant} | {rule} | {test} | {caught}/5");
    assert!(
        caught >= 4,
        "mutant {mutant} ({rule}) was caught by {test} on only {caught} of 5 seeds:\n{}",
        notes.join("\n")
    );
}

/// A test of the tester per mutant: `catches! { Service; name: mutant by suite_fn, [[words], ...]; ... }`,
/// where each mutant is the module `mutants::<mutant>` (with its `Service` type) and
/// `mutants::MUTANTS` lists `(mutant, rule)`, as the tests crate's `build.rs` generates them.
#[macro_export]
macro_rules! catches {
    ($service:ident; $($name:ident: $mutant:ident by $($body:ident)::+, $words:expr;)*) => {
        $(
            #[cfg(mutants)]
            #[test]
            fn $name() {
                let mutant = stringify!($mutant);
                let rule = mutants::MUTANTS.iter().find(|(n, _)| *n == mutant).map_or("?", |(_, r)| r);
                $crate::mutants::must_catch(
                    mutant,
                    rule,
                    stringify!($($body)::+),
                    $($body)::+::<mutants::$mutant::$service>,
                    $words,
                );
            }
        )*
    };
}
