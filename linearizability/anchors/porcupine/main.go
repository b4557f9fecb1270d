// Command porcupine-anchor times Porcupine on the histories that bench_checker exported, so that
// `make bench-anchors` can print both checkers' times measured in one run on one machine.
//
// Usage: porcupine-anchor DIR, where DIR holds bench_checker's export (index.tsv and one JSON
// file per history). It prints one tab-separated line per measurement:
//
//	name  mode  verdict  median_ns  best_ns  runs
//
// where mode is "partitioned" (kv by key, registers whole), "whole-map" (a kv history as one
// object) or "all-etcd" (every register history, one after another), and verdict is
// linearizable, not-linearizable or unknown. Timing follows bench_checker's: the check alone
// (parsing and conversion excluded), at least 5 runs and then until 0.3 s have passed (at most
// 101), median and best.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// op is one operation as bench_checker exports it. Ret is -1 when the operation never returned;
// Known is false when its output is unknown.
type op struct {
	Client int    `json:"client"`
	Call   int64  `json:"call"`
	Ret    int64  `json:"ret"`
	F      string `json:"f"`
	Known  bool   `json:"known"`
	// register
	V      int64 `json:"v"`
	From   int64 `json:"from"`
	To     int64 `json:"to"`
	OutNil bool  `json:"out_nil"`
	Out    int64 `json:"out"`
	Ok     bool  `json:"ok"`
	// kv
	Key    string `json:"key"`
	Value  string `json:"value"`
	OutStr string `json:"out_str"`
}

type history struct {
	Model string `json:"model"`
	Ops   []op   `json:"ops"`
}

// unset is the register's state before its first write (the logs' nil).
const unset = math.MinInt64

type regIn struct {
	f       string
	v, from int64
	to      int64
}

type regOut struct {
	known, outNil bool
	out           int64
	ok            bool
}

var registerModel = porcupine.Model{
	Init: func() interface{} { return int64(unset) },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := state.(int64)
		in := input.(regIn)
		out := output.(regOut)
		switch in.f {
		case "read":
			if !out.known {
				return true, s
			}
			if out.outNil {
				return s == unset, s
			}
			return s == out.out, s
		case "write":
			return true, in.v
		case "cas":
			if !out.known {
				if s == in.from {
					return true, in.to
				}
				return true, s
			}
			if out.ok {
				return s == in.from, in.to
			}
			return s != in.from, s
		}
		return false, s
	},
}

type kvIn struct {
	f, key, value string
}

type kvOut struct {
	known bool
	value string
}

var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range h {
			k := o.Input.(kvIn).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		sort.Strings(keys)
		parts := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := state.(string)
		in := input.(kvIn)
		out := output.(kvOut)
		switch in.f {
		case "get":
			return !out.known || out.value == s, s
		case "put":
			return true, in.value
		case "append":
			return true, s + in.value
		}
		return false, s
	},
}

// kvMapModel checks a kv history as one object: the state is the whole map.
var kvMapModel = porcupine.Model{
	Init: func() interface{} { return map[string]string{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := state.(map[string]string)
		in := input.(kvIn)
		out := output.(kvOut)
		switch in.f {
		case "get":
			return !out.known || out.value == s[in.key], s
		case "put", "append":
			next := make(map[string]string, len(s)+1)
			for k, v := range s {
				next[k] = v
			}
			if in.f == "put" {
				next[in.key] = in.value
			} else {
				next[in.key] = s[in.key] + in.value
			}
			return true, next
		}
		return false, s
	},
	Equal: func(a, b interface{}) bool {
		x, y := a.(map[string]string), b.(map[string]string)
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	},
}

func operations(h history) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, len(h.Ops))
	for _, o := range h.Ops {
		ret := o.Ret
		if ret < 0 {
			ret = math.MaxInt64 // never returned: it may take effect after everything else
		}
		var in, out interface{}
		if h.Model == "register" {
			in = regIn{f: o.F, v: o.V, from: o.From, to: o.To}
			out = regOut{known: o.Known, outNil: o.OutNil, out: o.Out, ok: o.Ok}
		} else {
			in = kvIn{f: o.F, key: o.Key, value: o.Value}
			out = kvOut{known: o.Known, value: o.OutStr}
		}
		ops = append(ops, porcupine.Operation{ClientId: o.Client, Input: in, Call: o.Call, Output: out, Return: ret})
	}
	return ops
}

func verdict(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "not-linearizable"
	}
	return "unknown"
}

// timeIt runs f at least 5 times, then until 0.3 s have passed (at most 101 runs).
func timeIt(f func() porcupine.CheckResult) (median, best time.Duration, runs int, last porcupine.CheckResult) {
	var times []time.Duration
	start := time.Now()
	for {
		t := time.Now()
		last = f()
		times = append(times, time.Since(t))
		if len(times) >= 5 && (time.Since(start) > 300*time.Millisecond || len(times) >= 101) {
			break
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], times[0], len(times), last
}

// budget bounds one check, as bench_checker's does; a check that runs out is "unknown".
const budget = 120 * time.Second

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: porcupine-anchor DIR (bench_checker --export DIR writes it)")
		os.Exit(2)
	}
	dir := os.Args[1]
	index, err := os.Open(filepath.Join(dir, "index.tsv"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "porcupine-anchor: %v (run bench_checker --export %s first)\n", err, dir)
		os.Exit(1)
	}
	defer index.Close()
	var names []string
	histories := map[string][]porcupine.Operation{}
	models := map[string]string{}
	scanner := bufio.NewScanner(index)
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), "\t")
		if len(fields) != 2 {
			continue
		}
		name, file := fields[0], fields[1]
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			fmt.Fprintf(os.Stderr, "porcupine-anchor: %v\n", err)
			os.Exit(1)
		}
		var h history
		if err := json.Unmarshal(data, &h); err != nil {
			fmt.Fprintf(os.Stderr, "porcupine-anchor: %s: %v\n", file, err)
			os.Exit(1)
		}
		names = append(names, name)
		histories[name] = operations(h)
		models[name] = h.Model
	}
	model := func(name string) porcupine.Model {
		if models[name] == "register" {
			return registerModel
		}
		return kvModel
	}
	for _, name := range names {
		ops, m := histories[name], model(name)
		med, best, runs, r := timeIt(func() porcupine.CheckResult {
			return porcupine.CheckOperationsTimeout(m, ops, budget)
		})
		fmt.Printf("%s\tpartitioned\t%s\t%d\t%d\t%d\n", name, verdict(r), med.Nanoseconds(), best.Nanoseconds(), runs)
	}
	med, best, runs, _ := timeIt(func() porcupine.CheckResult {
		all := porcupine.Ok
		for _, name := range names {
			if models[name] == "register" {
				if r := porcupine.CheckOperationsTimeout(registerModel, histories[name], budget); r != porcupine.Ok {
					all = r
				}
			}
		}
		return all
	})
	fmt.Printf("all-etcd\tall-etcd\t-\t%d\t%d\t%d\n", med.Nanoseconds(), best.Nanoseconds(), runs)
	for _, name := range []string{"kv/c10-ok.txt", "kv/c10-bad.txt"} {
		ops, ok := histories[name]
		if !ok {
			continue
		}
		med, best, runs, r := timeIt(func() porcupine.CheckResult {
			return porcupine.CheckOperationsTimeout(kvMapModel, ops, budget)
		})
		fmt.Printf("%s\twhole-map\t%s\t%d\t%d\t%d\n", name, verdict(r), med.Nanoseconds(), best.Nanoseconds(), runs)
	}
}
