package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// pythonInterpreter returns the Python the baseline script runs with:
// WEIGHTAUDIT_BENCH_PYTHON, else the distribution's /usr/bin/python3,
// else python3 on PATH, resolved to its executable (a pyenv shim is a
// shell script that takes 0.3 s to start one). Which Python matters: a
// pyenv build here starts in 99 ms, Debian's in 28 ms (python3 -c pass),
// which moves the script from 85 to 131 ms.
func pythonInterpreter() (string, error) {
	python := os.Getenv("WEIGHTAUDIT_BENCH_PYTHON")
	if python == "" {
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			python = "/usr/bin/python3"
		} else if python, err = exec.LookPath("python3"); err != nil {
			return "", err
		}
	}
	out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

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

// processCommand is a command the process benchmarks run: its name (the
// sub-benchmark's) and argv, or why it cannot run.
type processCommand struct {
	name string
	argv []string
	skip string
}

// processCommands builds weightaudit from this tree (and, with
// WEIGHTAUDIT_BENCH_BASE, names that build too) and cmd/ggufmmap, writes
// the layouts and the Python script, and returns the commands the process
// benchmarks run, the environment to run them in and the GGUF file.
func processCommands(b *testing.B) ([]processCommand, []string, string) {
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
	var cmds []processCommand
	for _, w := range weightaudits {
		name, bin := w[0], w[1]
		cmds = append(cmds,
			processCommand{name: "start/" + name + "-version", argv: []string{bin, "version"}},
			processCommand{name: "safetensors/" + name, argv: []string{bin, "inspect", hf}},
			processCommand{name: "gguf/" + name, argv: []string{bin, "inspect", gguf}})
	}
	python, pyErr := pythonInterpreter()
	skip := ""
	if pyErr != nil {
		skip = "no python3: " + pyErr.Error()
	} else {
		version, _ := exec.Command(python, "--version").CombinedOutput()
		b.Logf("baseline script run by %s (%s)", python, strings.TrimSpace(string(version)))
	}
	cmds = append(cmds,
		processCommand{name: "start/python", argv: []string{python, "-c", "pass"}, skip: skip},
		processCommand{name: "safetensors/python-json", argv: []string{python, script, hf}, skip: skip},
		processCommand{name: "gguf/gguf-parser-go-mmap", argv: []string{ggufmmap, gguf}})
	return cmds, env, gguf
}

// BenchmarkInspectProcess runs `weightaudit inspect`, built from this tree,
// as a whole process (start, cache set-up, listing, headers, report, exit)
// on the 235B layouts written as sparse files, page cache warm, with in
// the same run the baselines the issue names:
//   - safetensors: the 118 shards of Qwen3-235B-A22B in BF16, against a
//     15-line Python script reading each header with json.loads and
//     summing the shapes (skipped without python3; which Python, see
//     pythonInterpreter);
//   - gguf: its Q4_K_M in one file (a 5 MB header, 151,936-token
//     vocabulary), against gguf-parser-go v0.28.1 with UseMMap (its fast
//     mode), as a process (cmd/ggufmmap) and in process;
//   - start: `weightaudit version`, what starting the binary costs, and
//     `python3 -c pass`, what starting the script's interpreter costs.
//
// With WEIGHTAUDIT_BENCH_BASE set to another weightaudit binary (a build
// of an earlier commit), it runs too, as weightaudit-base: before and
// after in one run. Each command runs b.N times in a row; on a machine
// whose speed drifts (a VM), BenchmarkInspectProcessInterleaved compares
// them more fairly.
func BenchmarkInspectProcess(b *testing.B) {
	cmds, env, gguf := processCommands(b)
	for _, c := range cmds {
		b.Run(c.name, func(b *testing.B) {
			if c.skip != "" {
				b.Skip(c.skip)
			}
			runProcess(b, env, c.argv[0], c.argv[1:]...)
		})
	}
	b.Run("gguf/gguf-parser-go-mmap-in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := parser.ParseGGUFFile(gguf, parser.UseMMap()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInspectProcessInterleaved runs BenchmarkInspectProcess's
// commands in turn, each once per round (b.N rounds: run it with
// -benchtime 30x or more), so that a machine's drifting speed weighs on
// all of them alike. It reports each command's median wall time in
// milliseconds (start-weightaudit-version-ms, safetensors-python-json-ms,
// …) and the ratios the speed goals are stated in: the Python script's
// time over weightaudit's on the 118 shards (python/weightaudit) and
// gguf-parser-go's over weightaudit's on the GGUF file
// (gguf-parser-go/weightaudit).
func BenchmarkInspectProcessInterleaved(b *testing.B) {
	cmds, env, _ := processCommands(b)
	cmds = slices.DeleteFunc(cmds, func(c processCommand) bool { return c.skip != "" })
	walls := make([][]float64, len(cmds))
	for b.Loop() {
		for i, c := range cmds {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			walls[i] = append(walls[i], float64(time.Since(start).Microseconds())/1000)
			if err != nil {
				b.Fatalf("%s: %v\n%s", c.name, err, out)
			}
		}
	}
	medians := map[string]float64{}
	for i, c := range cmds {
		medians[c.name] = median(walls[i])
		b.ReportMetric(medians[c.name], strings.ReplaceAll(c.name, "/", "-")+"-ms")
	}
	if py, ok := medians["safetensors/python-json"]; ok {
		b.ReportMetric(py/medians["safetensors/weightaudit"], "python/weightaudit")
	}
	b.ReportMetric(medians["gguf/gguf-parser-go-mmap"]/medians["gguf/weightaudit"], "gguf-parser-go/weightaudit")
}

// median returns the median of v, which it sorts.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
