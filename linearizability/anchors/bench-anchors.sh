#!/usr/bin/env bash
# `make bench-anchors`: the checker and Porcupine (Go) timed on the same golden histories in one
# run on this machine, printed side by side by bench_checker.
#
# Needs Go 1.18 or later. Porcupine comes from the Go module proxy (PORCUPINE_VERSION, default
# v1.3.0), or from a local checkout given as PORCUPINE_DIR. Everything is built and written under
# target/bench-anchors; the source tree is not touched.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/bench-anchors
fail() { echo "bench-anchors: $*" >&2; exit 2; }

command -v go >/dev/null 2>&1 ||
    fail "needs Go 1.18 or later (Debian or Ubuntu: apt-get install golang-go; otherwise https://go.dev/dl/)"
rm -rf "$out" && mkdir -p "$out/go"
cp linearizability/anchors/porcupine/main.go linearizability/anchors/porcupine/go.mod "$out/go/"
version=${PORCUPINE_VERSION:-v1.3.0}
cd "$out/go"
go mod edit -require="github.com/anishathalye/porcupine@$version"
if [ -n "${PORCUPINE_DIR:-}" ]; then
    [ -f "$PORCUPINE_DIR/go.mod" ] || fail "PORCUPINE_DIR=$PORCUPINE_DIR has no go.mod: give a checkout of github.com/anishathalye/porcupine"
    dir=$(cd "$PORCUPINE_DIR" && pwd)
    go mod edit -replace="github.com/anishathalye/porcupine=$dir"
    source="the checkout in $dir"
else
    go mod download "github.com/anishathalye/porcupine@$version" ||
        fail "cannot download Porcupine $version (GOPROXY=$(go env GOPROXY)); on a machine without the module proxy, give a checkout with PORCUPINE_DIR=..."
    source="github.com/anishathalye/porcupine@$version from $(go env GOPROXY)"
fi
GOFLAGS=-mod=mod go build -o ../porcupine-anchor . || fail "the Go side did not build (see above)"
cd - >/dev/null

cargo run --release -q -p linearizability --example bench_checker -- --export "$out/histories"
echo "Porcupine: $source, built with $(go version)"
"$out/porcupine-anchor" "$out/histories" >"$out/porcupine.tsv"
echo "Porcupine's times: $out/porcupine.tsv"
cargo run --release -q -p linearizability --example bench_checker -- --porcupine "$out/porcupine.tsv"
