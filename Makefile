# distlab: see README.md. `make test` is what CI runs; `make grade` grades the reference.
CARGO ?= cargo
DIR ?= ../distlab-handout

.PHONY: test grade redteam bench bench-anchors fmt lint handout check-handout lab1 lab2a lab2b lab3a lab3b lab3c lab3d lab4a lab4b lab5a lab5b lab5c

# `make test` builds the labs' tests crates (testers, suites, and the broken implementations of
# the tests of the tester) at opt-level 1. The broken implementations are most of the build (a
# copy of the reference per rule), and the testers' own code costs little at run time (4A's
# suite: 6.5 s of CPU at opt-level 3, 6.6 s at 1). Students, `make lab*` and `make grade` build
# everything at opt-level 3.
TEST_CRATES = mapreduce-tests kvsrv-tests raft-tests kvraft-tests shardkv-tests
TEST_PROFILE = $(foreach p,$(TEST_CRATES),--config profile.release.package.$(p).opt-level=1)

# Every suite under sim, labrpc (and Lab 3A) again under the real backend, and the handout.
test:
	$(CARGO) test --workspace --release $(TEST_PROFILE)
	LAB_RUNTIME=real $(CARGO) test --release $(TEST_PROFILE) -p labrpc --test network
	LAB_RUNTIME=real $(CARGO) test --release $(TEST_PROFILE) -p raft-tests --test lab3a
	$(MAKE) check-handout

lab1:
	$(CARGO) test --release -p mapreduce-tests --test lab1

lab2a lab2b:
	$(CARGO) test --release -p kvsrv-tests --test $@

lab3a lab3b lab3c lab3d:
	$(CARGO) test --release -p raft-tests --test $@

lab4a:
	$(CARGO) test --release -p kvraft-tests --test rsm --test lab4a
lab4b:
	$(CARGO) test --release -p kvraft-tests --test lab4b

lab5a:
	$(CARGO) test --release -p shardkv-tests --test ctrler --test lab5a
lab5b:
	$(CARGO) test --release -p shardkv-tests --test lab5b
lab5c:
	$(CARGO) test --release -p shardkv-tests --test lab5c

grade:
	$(CARGO) run --release -q -p grading --bin grade -- run $(GRADE_ARGS)

# The whole red-team suite: `make test` runs its fast half (the tricks the grader's tree and the
# rules stop, the honest reference, the shard recipes); this adds the tricks that need builds of
# their own (caught while the test runs, with the rules off, or by the compiler).
redteam:
	$(CARGO) test --release -p grading --test red_team -- --include-ignored

bench:
	$(CARGO) run --release -q -p labs --example bench_runtime
	$(CARGO) run --release -q -p labrpc --example bench_labrpc
	$(CARGO) run --release -q -p linearizability --example bench_checker
	$(CARGO) run --release -q -p report --example bench_report
	$(CARGO) run --release -q -p kvraft-tests --example bench_kv

# The checker and Porcupine measured side by side in one run (needs Go; Porcupine from the Go
# module proxy, or a checkout given as PORCUPINE_DIR). See linearizability/anchors.
bench-anchors:
	linearizability/anchors/bench-anchors.sh

handout:
	$(CARGO) run --release -q -p grading --bin grade -- handout $(DIR) --check

# The handout compiles (clippy checks every target), passes its own `make lint` as handed out,
# and every graded test in it fails cleanly (no pass, no hang): `grade run --path` links its
# suites in the grader's tree, the same tree and build folder the red-team tests use, so only
# the student crates are rebuilt. Build output, reports and grades go outside the handout, so
# that target/handout stays exactly what students get.
HANDOUT_ENV = CARGO_TARGET_DIR=$(CURDIR)/target/handout-check LAB_REPORT_DIR=$(CURDIR)/target/handout-reports
check-handout:
	$(CARGO) run --release -q -p grading --bin grade -- handout target/handout
	cd target/handout && $(HANDOUT_ENV) $(CARGO) fmt --all -- --check
	cd target/handout && $(HANDOUT_ENV) $(CARGO) clippy -q --workspace --all-targets -- -D warnings
	LAB_REPORT_DIR=$(CURDIR)/target/handout-reports $(CARGO) run --release -q -p grading --bin grade -- run --path target/handout --seeds 1 --real 0 --timeout 120 --out target/handout-grade --expect-all-fail
	@test ! -e target/handout/target || { echo "check-handout: something wrote target/ into the handout"; exit 1; }

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
