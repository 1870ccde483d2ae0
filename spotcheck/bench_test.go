package spotcheck_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// generated serves one synthesized file: its header, then tensor data
// made up on the fly from each element's index, so that a layout of 16 GB
// costs no memory and no disk. A 16-bit weight is ±[2⁻⁶, 2⁻⁵) (about
// 0.02, as trained matrices are), a norm weight in [1, 2); F32 tensors
// (the GGUF file's norms) hold 1 + the element's 16-bit value. It is safe
// for concurrent use.
type generated struct {
	head    []byte
	size    int64
	tensors []synth.Placed // of this file, by offset
}

func newGenerated(l *synth.Layout, f synth.File) *generated {
	g := &generated{head: f.Head, size: f.Size}
	for _, p := range l.Tensors {
		if p.File == f.Name {
			g.tensors = append(g.tensors, p)
		}
	}
	sort.Slice(g.tensors, func(i, j int) bool { return g.tensors[i].Offset < g.tensors[j].Offset })
	return g
}

// bits16 is element i's 16-bit pattern: a random sign and mantissa under
// a fixed exponent (BF16 or F16), as described on [generated].
func bits16(i int64, dtype string, norm bool) uint16 {
	h := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e5f5
	h ^= h >> 29
	sign := uint16(h>>40) & 0x8000
	if norm {
		sign = 0
	}
	if dtype == "BF16" { // 1 sign, 8 exponent (bias 127), 7 mantissa
		exp := uint16(121) // 2^-6
		if norm {
			exp = 127
		}
		return sign | exp<<7 | uint16(h)&0x7f
	}
	exp := uint16(9) // F16: 5 exponent bits (bias 15), 10 mantissa: 2^-6
	if norm {
		exp = 15
	}
	return sign | exp<<10 | uint16(h)&0x3ff
}

func (g *generated) ReadAt(p []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > g.size-off {
		n = int(g.size - off)
	}
	clear(p[:n])
	if off < int64(len(g.head)) {
		copy(p, g.head[off:])
	}
	end := off + int64(n)
	k := sort.Search(len(g.tensors), func(i int) bool { return g.tensors[i].Offset+g.tensors[i].Bytes > off })
	for ; k < len(g.tensors) && g.tensors[k].Offset < end; k++ {
		t := &g.tensors[k]
		norm := strings.Contains(t.Name, "norm")
		size := int64(2)
		if t.DType == "F32" {
			size = 4
		}
		lo, hi := max(off, t.Offset), min(end, t.Offset+t.Bytes)
		for e := (lo - t.Offset) / size; t.Offset+e*size < hi; e++ {
			at := t.Offset + e*size
			v := bits16(e, t.DType, norm)
			if at >= lo && at+size <= hi { // a whole element: written in place
				if size == 4 {
					binary.LittleEndian.PutUint32(p[at-off:], 0x3f800000|uint32(v&0x3ff)<<13) // 1 + a 10-bit fraction
				} else {
					binary.LittleEndian.PutUint16(p[at-off:], v)
				}
				continue
			}
			var buf [4]byte // an element cut by the read's ends
			if size == 4 {
				binary.LittleEndian.PutUint32(buf[:], 0x3f800000|uint32(v&0x3ff)<<13)
			} else {
				binary.LittleEndian.PutUint16(buf[:], v)
			}
			copy(p[max(at, lo)-off:], buf[max(0, lo-at):min(size, hi-at)])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// BenchmarkSpotCheckLlama3_8B runs the spot-check of one Llama-3-8B
// layer (4096 wide, 32 query and 8 KV heads, MLP width 14336: 218 M
// parameters, 436 MB in 16 bits) on 8 tokens, in BF16 safetensors and
// in an F16 GGUF file with its Q/K rows in llama.cpp's order. The data is
// generated as it is read (see generated), so the time is the forward
// pass, the decoding and that generation, not a disk.
func BenchmarkSpotCheckLlama3_8B(b *testing.B) {
	spec := llama.MustNew(llama.Llama3_8B())
	hf, err := synth.HF("Llama-3-8B", spec, synth.HFOptions{Shards: 4, DType: safetensors.BF16})
	if err != nil {
		b.Fatal(err)
	}
	gg, err := synth.GGUF("Llama-3-8B-F16", spec, synth.GGUFOptions{Type: "F16", NoTokenizer: true})
	if err != nil {
		b.Fatal(err)
	}
	tokens := []int{1, 2, 3, 4, 5, 6, 7, 8}
	for _, l := range []*synth.Layout{hf, gg} {
		src := hub.NewMem(l.Name)
		for _, f := range l.Files {
			src.Add(f.Name, newGenerated(l, f), f.Size)
		}
		ck, err := checkpoint.Load(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/jobs=%d", ck.Format, runtime.NumCPU()), func(b *testing.B) {
			b.ReportAllocs()
			var r *spotcheck.Result
			for b.Loop() {
				if r, err = spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 3, Tokens: tokens, Jobs: runtime.NumCPU()}); err != nil {
					b.Fatal(err)
				}
			}
			if !r.Passes() {
				b.Fatalf("spot-check: passes false, finite %v, float32 vs float64 %g, dead %v", r.Finite, r.MaxRelErr, r.Dead)
			}
			b.SetBytes(r.BytesRead)
			b.ReportMetric(float64(r.BytesRead)/1e6, "MB-read")
			b.ReportMetric(r.MaxRelErr, "rel-err")
		})
	}
}
