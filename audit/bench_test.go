package audit_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// BenchmarkAudit measures the audit of the built-in 235B layouts end to
// end, against header parsing alone (the "load" baseline) in the same run:
// the checks should add a small fraction to it.
func BenchmarkAudit(b *testing.B) {
	for _, name := range []string{"safetensors", "gguf", "deepseek-v3"} {
		l, err := synth.Builtin(name)
		if err != nil {
			b.Fatal(err)
		}
		src := l.Source()
		var header int64
		for _, f := range l.Files {
			header += int64(len(f.Head))
		}
		b.Run(name+"/load", func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := checkpoint.Load(context.Background(), src); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/load+run", func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				ck, err := checkpoint.Load(context.Background(), src)
				if err != nil {
					b.Fatal(err)
				}
				r, err := audit.Run(ck, audit.Options{})
				if err != nil || !r.Pass {
					b.Fatal(err)
				}
			}
		})
		ck, err := checkpoint.Load(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/run", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := audit.Run(ck, audit.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(ck.Inventory().Tensors)), "tensors")
		})
	}
}

// BenchmarkSpotCheck235B runs the spot-check on the built-in 235B Q4_K_M
// layout written sparse to disk, with layer 3 and the embedding filled with
// random but valid blocks, for 8 tokens. The files (about 2 GB of real data
// in a 142 GB sparse file) are written once per run into a temporary
// folder. Peak RSS is best measured on the command:
//
//	/usr/bin/time -v weightaudit spotcheck DIR/Qwen3-235B-A22B-Q4_K_M.gguf --layer 3 --tokens 1,2,3,4,5,6,7,8
func BenchmarkSpotCheck235B(b *testing.B) {
	if testing.Short() {
		b.Skip("writes about 2 GB")
	}
	dir := b.TempDir()
	l, err := synth.GGUF("Qwen3-235B-A22B-Q4_K_M", qwen3.MustNew(qwen3.Qwen3_235B_A22B()), synth.GGUFOptions{Type: "Q4_K_M"})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.WriteDir(context.Background(), dir, randomBlock(3)); err != nil {
		b.Fatal(err)
	}
	src, focus, err := hub.Local(filepath.Join(dir, l.Files[0].Name))
	if err != nil {
		b.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithFocus(focus))
	if err != nil {
		b.Fatal(err)
	}
	tokens := []int{1, 2, 3, 4, 5, 6, 7, 8}
	var r *spotcheck.Result
	for b.Loop() {
		if r, err = spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 3, Tokens: tokens, Jobs: runtime.NumCPU()}); err != nil {
			b.Fatal(err)
		}
	}
	if !r.Finite || r.MaxRelErr > spotcheck.Tolerance {
		b.Fatalf("spot-check: finite %v, float32 vs float64 %g", r.Finite, r.MaxRelErr)
	}
	distinct := map[int]bool{}
	for _, ids := range r.Experts {
		for _, id := range ids {
			distinct[id] = true
		}
	}
	b.ReportMetric(float64(r.BytesRead)/1e6, "MB-read")
	b.ReportMetric(float64(len(distinct)), "experts")
	b.ReportMetric(r.MaxRelErr, "rel-err")
}

// randomBlock fills the tensors of one layer and the embedding with random
// values that decode to finite weights: float tensors near 0.02 (norms
// near 1), and quantized blocks with small scales and random quants.
func randomBlock(layer int) func(synth.Placed) ([]byte, error) {
	prefix := fmt.Sprintf("blk.%d.", layer)
	return func(p synth.Placed) ([]byte, error) {
		if !strings.HasPrefix(p.Name, prefix) && p.Name != "token_embd.weight" {
			return nil, nil
		}
		rng := rand.New(rand.NewPCG(uint64(len(p.Name)), uint64(p.Bytes)))
		buf := make([]byte, p.Bytes)
		for i := 0; i+8 <= len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		const small = 0x2000 // f16 2^-7
		switch p.DType {
		case "F32":
			for i := 0; i < len(buf); i += 4 {
				v := float32(rng.NormFloat64() * 0.02)
				if strings.Contains(p.Name, "norm") {
					v += 1
				}
				binary.LittleEndian.PutUint32(buf[i:], math.Float32bits(v))
			}
		case "Q4_K": // 144-byte blocks: d, dmin (f16), 12 bytes of scales, 128 of quants
			for i := 0; i < len(buf); i += 144 {
				binary.LittleEndian.PutUint16(buf[i:], small)
				binary.LittleEndian.PutUint16(buf[i+2:], small)
			}
		case "Q6_K": // 210-byte blocks: 128 ql, 64 qh, 16 int8 scales, then d (f16)
			for i := 0; i < len(buf); i += 210 {
				binary.LittleEndian.PutUint16(buf[i+208:], small)
			}
		default:
			return nil, fmt.Errorf("no random fill for %s", p.DType)
		}
		return buf, nil
	}
}

// BenchmarkInspectReport builds and writes the inspect report of the
// 118-shard 235B layout: the table, which needs only the tallies, against
// the JSON, which lists every tensor, in the same run. The table does not
// copy the tensors (36,945 of them).
func BenchmarkInspectReport(b *testing.B) {
	l, err := synth.Builtin("safetensors")
	if err != nil {
		b.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		write func(*audit.InspectReport) error
	}{
		{"table", func(r *audit.InspectReport) error { return r.WriteText(io.Discard, false) }},
		{"json", func(r *audit.InspectReport) error { return r.WriteJSON(io.Discard) }},
	} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := f.write(audit.NewInspectReport(ck)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
