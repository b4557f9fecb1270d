//! Tests of the shard tester itself: broken shard groups (*mutants*: `mutants/*.mutant`, built by
//! `build.rs` from the reference `shardkv` crate, each with one rule of the lab broken) must
//! make the test that checks their rule fail on at least 4 of the 5 seeds that `make grade`
//! runs (1-5), with a message that names the rule.

#[cfg(mutants)]
#[allow(dead_code)]
#[path = "suite/rules.rs"]
mod rules;

/// The mutants of the reference sharded service (see `build.rs`).
#[cfg(mutants)]
mod mutants {
    include!(concat!(env!("OUT_DIR"), "/mutants.rs"));
}

/// Runs `body` (a suite test on a mutant) on the grade's seeds, and requires it to fail on at
/// least 4 of them with a message that contains every word of one of `words`. Prints the
/// fraction, for the rule table.
#[cfg(mutants)]
fn must_catch(mutant: &str, test: &str, body: fn(), words: &[&[&str]]) {
    use labs::world::World;
    let rule = mutants::MUTANTS.iter().find(|(n, _)| *n == mutant).map_or("?", |(_, r)| r);
    let mut caught = 0;
    let mut notes = Vec::new();
    for seed in 1..=5 {
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

/// A test of the tester per mutant: `name: mutant by suite_fn, [[words], ...]`.
macro_rules! catches {
    ($($name:ident: $mutant:ident by $($body:ident)::+, $words:expr;)*) => {
        $(
            #[cfg(mutants)]
            #[test]
            fn $name() {
                must_catch(
                    stringify!($mutant),
                    stringify!($($body)::+),
                    $($body)::+::<mutants::$mutant::Shards>,
                    $words,
                );
            }
        )*
    };
}

catches! {
    serving_an_unowned_shard_is_caught: serves_unowned_shards by rules::rejects_unowned_shard,
        &[&["still answered", "ownership rule"]];
    a_migration_without_the_duplicate_table_is_caught: migration_without_dups by rules::dup_table_moves_with_shard,
        &[&["was applied twice", "migration rule"]];
    serving_before_the_data_arrives_is_caught: serves_before_arrival by rules::waits_for_shard_data,
        &[&["data is still at group", "migration rule"]];
    keeping_shards_given_away_is_caught: keeps_lost_shards by rules::challenge1_delete,
        &[&["too big", "challenge 1"]];
}

/// Every mutant has a test above (a new mutant without one fails here).
#[cfg(mutants)]
#[test]
fn every_mutant_has_a_test_of_the_tester() {
    let source = include_str!("tester_robustness.rs");
    for (name, _) in mutants::MUTANTS {
        assert!(source.contains(&format!(": {name} by ")), "mutant {name} has no `catches!` entry");
    }
}
