package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
)

// sumShapes is the Python baseline: read each shard's header, json.loads
// it, sum the shapes.
const sumShapes = `import json, os, struct, sys

d = sys.argv[1]
tensors = params = 0
for name in sorted(os.listdir(d)):
    if not name.endswith(".safetensors"):
        continue
    with open(os.path.join(d, name), "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    for key, t in header.items():
        if key != "__metadata__":
            p = 1
            for s in t["shape"]:
                p *= s
            tensors, params = tensors + 1, params + p
print(tensors, params)
`

// build builds the main package pkg (a path relative to module, the
// folder of a module) into dir as the README builds weightaudit (without
// cgo, symbol tables left out: a plain go build on a machine with a C
// compiler links libc dynamically and starts several milliseconds later,
// so a base built by the README's command would seem faster) and returns
// the binary's path.
func build(b *testing.B, dir, module, pkg string) string {
	b.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = module
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// pythonInterpreter returns the path of the interpreter python3 runs: the
// binary itself, not a version manager's shim (pyenv's takes 0.3 s to
// start one), so that the baseline is the script's cost.
func pythonInterpreter() (string, error) {
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// runProcess runs name with args b.N times, its output discarded, and
// reports the CPU time (user and system) and the page faults (minor: fresh
// memory and mapped file pages, 12-15 µs each on the 2-core VMs this
// was tuned on) of a run besides its wall time. (Not the peak RSS: wait4
// reports the largest of the child and the process that forked it.)
func runProcess(b *testing.B, env []string, name string, args ...string) {
	b.Helper()
	var cpu time.Duration
	var faults int64
	for b.Loop() {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		faults += ru.Minflt + ru.Majflt
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}

// BenchmarkInspectProcess runs `weightaudit inspect`, built from this tree,
// as a whole process (start, cache set-up, listing, headers, report, exit)
// on the 235B layouts written as sparse files, page cache warm, with in
// the same run the baselines the issue names:
//   - safetensors: the 118 shards of Qwen3-235B-A22B in BF16, against a
//     15-line Python script reading each header with json.loads and
//     summing the shapes (skipped without python3);
//   - gguf: its Q4_K_M in one file (a 5 MB header, 151,936-token
//     vocabulary), against gguf-parser-go v0.28.1 with UseMMap (its fast
//     mode), as a process (cmd/ggufmmap) and in process;
//   - start: `weightaudit version`, what starting the binary costs.
//
// With WEIGHTAUDIT_BENCH_BASE set to another weightaudit binary (a build
// of an earlier commit), it runs too, as weightaudit-base: before and
// after in one run.
func BenchmarkInspectProcess(b *testing.B) {
	bins := b.TempDir()
	wa := build(b, bins, "..", "./cmd/weightaudit") // the main module, as its users build it
	ggufmmap := build(b, bins, ".", "./cmd/ggufmmap")
	env := append(os.Environ(), "WEIGHTAUDIT_CACHE="+b.TempDir())
	hf, _ := layout(b, "hf", func() (*synth.Layout, error) { return synth.Builtin("safetensors") })
	gd, gl := layout(b, "gguf", func() (*synth.Layout, error) {
		return synth.GGUF("Qwen3-235B-A22B-Q4_K_M", qwen3.MustNew(qwen3.Qwen3_235B_A22B()), synth.GGUFOptions{Type: "Q4_K_M"})
	})
	gguf := filepath.Join(gd, gl.Files[0].Name)
	script := filepath.Join(b.TempDir(), "sum_shapes.py")
	if err := os.WriteFile(script, []byte(sumShapes), 0o644); err != nil {
		b.Fatal(err)
	}
	weightaudits := [][2]string{{"weightaudit", wa}}
	if base := os.Getenv("WEIGHTAUDIT_BENCH_BASE"); base != "" {
		weightaudits = append(weightaudits, [2]string{"weightaudit-base", base})
	}
	for _, w := range weightaudits {
		name, bin := w[0], w[1]
		b.Run("start/"+name+"-version", func(b *testing.B) { runProcess(b, env, bin, "version") })
		b.Run("safetensors/"+name, func(b *testing.B) { runProcess(b, env, bin, "inspect", hf) })
		b.Run("gguf/"+name, func(b *testing.B) { runProcess(b, env, bin, "inspect", gguf) })
	}
	b.Run("safetensors/python-json", func(b *testing.B) {
		python, err := pythonInterpreter()
		if err != nil {
			b.Skip("no python3: ", err)
		}
		runProcess(b, env, python, script, hf)
	})
	b.Run("gguf/gguf-parser-go-mmap", func(b *testing.B) { runProcess(b, env, ggufmmap, gguf) })
	b.Run("gguf/gguf-parser-go-mmap-in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := parser.ParseGGUFFile(gguf, parser.UseMMap()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
