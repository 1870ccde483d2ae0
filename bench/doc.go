// Package bench compares weightaudit's header readers with peer parsers on
// the same files, in the same run. It is a separate module so that the main
// module does not depend on the peers.
//
//	cd bench && go test -run '^$' -bench . -benchmem
//
// BenchmarkInspectProcess runs the built binary as a process (and, with
// WEIGHTAUDIT_BENCH_BASE=path, an earlier build beside it), reporting wall
// and CPU time and page faults per run. BenchmarkInspectProcessInterleaved
// runs the same commands in turn, round after round, and reports their
// median times and the ratios to the baselines:
//
//	go test -run '^$' -bench InspectProcessInterleaved -benchtime 40x
//
// WEIGHTAUDIT_BENCH_DIR
// keeps the synthesized layouts in that folder between runs, e.g. to time
// the binary by hand with hyperfine or perf stat.
package bench
