package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"golang.org/x/sync/errgroup"
)

// dir holds the 235B layouts written as sparse files for the whole run.
var dir string

func TestMain(m *testing.M) {
	// WEIGHTAUDIT_BENCH_DIR keeps the written layouts between runs (and
	// for timing the binary by hand, e.g. with hyperfine); by default they
	// go to a temporary folder removed at the end.
	dir = os.Getenv("WEIGHTAUDIT_BENCH_DIR")
	temp := dir == ""
	if temp {
		var err error
		dir, err = os.MkdirTemp("", "weightaudit-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	code := m.Run()
	if temp {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// layout writes a synthesized layout once and returns its folder.
func layout(b *testing.B, name string, make func() (*synth.Layout, error)) (string, *synth.Layout) {
	b.Helper()
	l, err := make()
	if err != nil {
		b.Fatal(err)
	}
	d := filepath.Join(dir, name)
	if _, err := os.Stat(d); err != nil {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := l.WriteDir(context.Background(), d, nil); err != nil {
			b.Fatal(err)
		}
	}
	return d, l
}

// BenchmarkGGUFHeader parses the header of the Qwen3-235B-A22B Q4_K_M GGUF
// (one file, 1,131 tensors, 151,936-token tokenizer) with weightaudit and
// with gguf-parser-go.
func BenchmarkGGUFHeader(b *testing.B) {
	d, l := layout(b, "gguf", func() (*synth.Layout, error) {
		return synth.GGUF("Qwen3-235B-A22B-Q4_K_M", qwen3.MustNew(qwen3.Qwen3_235B_A22B()), synth.GGUFOptions{Type: "Q4_K_M"})
	})
	path := filepath.Join(d, l.Files[0].Name)
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	header := f.DataOffset
	b.Run("weightaudit", func(b *testing.B) {
		b.SetBytes(header)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gguf.Open(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gguf-parser-go", func(b *testing.B) {
		b.SetBytes(header)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseGGUFFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSafetensorsHeaders reads the 118 shard headers of Qwen3-235B-A22B
// in BF16 (36,945 tensors): weightaudit's loader (all checks, index included)
// and, as the baseline, a plain encoding/json decode of the same headers.
func BenchmarkSafetensorsHeaders(b *testing.B) {
	d, l := layout(b, "hf", func() (*synth.Layout, error) { return synth.Builtin("safetensors") })
	var shards []string
	var header int64
	for _, f := range l.Files {
		if filepath.Ext(f.Name) == ".safetensors" {
			shards = append(shards, filepath.Join(d, f.Name))
			header += int64(len(f.Head))
		}
	}
	for _, jobs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("weightaudit/jobs=%d", jobs), func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				ck, err := checkpoint.Load(context.Background(), hub.NewDir(d), checkpoint.WithJobs(jobs))
				if err != nil {
					b.Fatal(err)
				}
				if n := ck.Inventory().Totals().Tensors; n != 36945 {
					b.Fatalf("%d tensors", n)
				}
			}
		})
	}
	for _, jobs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("weightaudit-headers-only/jobs=%d", jobs), func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				g := new(errgroup.Group)
				g.SetLimit(jobs)
				for _, p := range shards {
					g.Go(func() error {
						_, err := safetensors.Open(p)
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(header)
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range shards {
				if err := decodeJSON(p); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

type entry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

func decodeJSON(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var n [8]byte
	if _, err := f.ReadAt(n[:], 0); err != nil {
		return err
	}
	buf := make([]byte, binary.LittleEndian.Uint64(n[:]))
	if _, err := f.ReadAt(buf, 8); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf, &raw); err != nil {
		return err
	}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
	}
	return nil
}
