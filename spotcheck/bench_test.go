package spotcheck_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/arch/qwen3"
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
	elems   []element      // how each tensor's elements are generated
}

func newGenerated(l *synth.Layout, f synth.File) *generated {
	g := &generated{head: f.Head, size: f.Size}
	for _, p := range l.Tensors {
		if p.File == f.Name {
			g.tensors = append(g.tensors, p)
		}
	}
	sort.Slice(g.tensors, func(i, j int) bool { return g.tensors[i].Offset < g.tensors[j].Offset })
	for i := range g.tensors {
		g.elems = append(g.elems, elementOf(&g.tensors[i]))
	}
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
		elem := g.elems[k]
		size := elem.size
		lo, hi := max(off, t.Offset), min(end, t.Offset+t.Bytes)
		if elem.pattern != nil { // one byte an element: copied from the pattern
			for at := lo; at < hi; {
				ph := (at - t.Offset) % patternLen
				at += int64(copy(p[at-off:hi-off], elem.pattern[ph:ph+patternLen]))
			}
			continue
		}
		var buf [4]byte
		for e := (lo - t.Offset) / size; t.Offset+e*size < hi; e++ {
			at := t.Offset + e*size
			if at >= lo && at+size <= hi { // a whole element: written in place
				elem.put(p[at-off:], e)
				continue
			}
			elem.put(buf[:], e) // an element cut by the read's ends
			copy(p[max(at, lo)-off:], buf[max(0, lo-at):min(size, hi-at)])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// element writes the generated elements of one tensor: size bytes each,
// element e by put.
type element struct {
	size    int64
	put     func(p []byte, e int64)
	pattern []byte // for one-byte elements instead of put: element e is pattern[e mod patternLen]
}

// patternLen is the period of a one-byte element's pattern, a prime
// (2^20 − 3): the rows of a matrix narrower than that and with fewer rows
// are all different, and no two of its rows' 128-wide blocks line up.
const patternLen = 1<<20 - 3

var (
	patternsMu sync.Mutex
	patterns   = map[[256]byte][]byte{}
)

// byTable returns the element of one byte f gives each hash byte: element
// e is f(hash8(e mod patternLen)), read from a pattern built once for f
// (and twice as long, so that a read copies patternLen bytes at most
// without wrapping), which makes the generation a memory copy.
func byTable(f func(h byte) byte) element {
	var t [256]byte
	for h := range t {
		t[h] = f(byte(h))
	}
	patternsMu.Lock()
	defer patternsMu.Unlock()
	pat, ok := patterns[t]
	if !ok {
		pat = make([]byte, 2*patternLen)
		for i := range int64(patternLen) {
			pat[i] = t[hash8(i)]
		}
		copy(pat[patternLen:], pat[:patternLen])
		patterns[t] = pat
	}
	return element{size: 1, pattern: pat}
}

// hash8 is a byte of element e's hash.
func hash8(e int64) byte {
	h := uint64(e)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e5f5
	h ^= h >> 29
	return byte(h >> 40)
}

// elementOf returns how t's elements are generated: 16-bit weights and
// F32 norms as described on generated; F32 FP8 block scales
// (…weight_scale_inv) 2^-8·(1 + a 10-bit fraction); FP8 E4M3 codes of a
// random sign and mantissa under an exponent field of 4 to 9 (values
// 2^-3 to 2^2·1.875, so weights of about 2^-8 times that); MXFP4 blocks
// random E2M1 codes and their E8M0 scales 118 to 121 (2^-9 to 2^-6).
func elementOf(t *synth.Placed) element {
	norm := strings.Contains(t.Name, "norm")
	switch {
	case t.DType == "F32" && strings.HasSuffix(t.Name, "_scale_inv"):
		return element{size: 4, put: func(p []byte, e int64) {
			binary.LittleEndian.PutUint32(p, 0x3b800000|uint32(bits16(e, "F16", true)&0x3ff)<<13)
		}}
	case t.DType == "F32":
		return element{size: 4, put: func(p []byte, e int64) {
			binary.LittleEndian.PutUint32(p, 0x3f800000|uint32(bits16(e, t.DType, norm)&0x3ff)<<13) // 1 + a 10-bit fraction
		}}
	case t.DType == "F8_E4M3":
		return byTable(func(h byte) byte { return h&0x80 | (4+h%6)<<3 | h>>3&7 })
	case t.DType == "U8" && strings.HasSuffix(t.Name, "_scales"):
		return byTable(func(h byte) byte { return 118 + h%4 })
	case t.DType == "U8":
		return byTable(func(h byte) byte { return h })
	}
	return element{size: 2, put: func(p []byte, e int64) { binary.LittleEndian.PutUint16(p, bits16(e, t.DType, norm)) }}
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
		ck := loadGenerated(b, l)
		b.Run(fmt.Sprintf("%s/jobs=%d", ck.Format, runtime.NumCPU()), func(b *testing.B) {
			runSpot(b, ck, spotcheck.Options{Layer: 3, Tokens: tokens, Jobs: runtime.NumCPU()}, "", false)
		})
	}
}

// BenchmarkSpotCheckGptOss120B runs one gpt-oss-120b block (2880 wide,
// 64 query and 8 KV heads of 64, 128 experts of width 2880, top-4) on 8
// tokens from the published layout in Hugging Face safetensors (BF16
// attention, MXFP4 experts: *_blocks and *_scales in U8), data generated
// as read (see generated): only the chosen experts' blocks and scales are
// read. The published config's YaRN RoPE runs as published. Layer 1 is a
// full-attention layer, layer 0 a sliding one.
func BenchmarkSpotCheckGptOss120B(b *testing.B) {
	c := gptoss.GptOss120B()
	l, err := synth.HF("gpt-oss-120b", gptoss.MustNew(c), synth.HFOptions{Shards: 15})
	if err != nil {
		b.Fatal(err)
	}
	benchSpot(b, l, 1)
}

// BenchmarkSpotCheckQwen3_235B_FP8 runs one Qwen3-235B-A22B-FP8 block
// (4096 wide, 64 query and 4 KV heads of 128, 128 experts of width 1536,
// top-8) on 8 tokens: its linear weights FP8 E4M3 with 128×128 block
// weight_scale_inv (the release's quantization_config: quant_method fp8,
// fmt e4m3, weight_block_size [128, 128]), the rest BF16, data generated
// as read.
func BenchmarkSpotCheckQwen3_235B_FP8(b *testing.B) {
	c := qwen3.Qwen3_235B_A22B()
	c.QuantizationConfig = &arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{128, 128}}
	l, err := synth.HF("Qwen3-235B-A22B-FP8", qwen3.MustNew(c), synth.HFOptions{Shards: 24, FP8Blocks: true})
	if err != nil {
		b.Fatal(err)
	}
	benchSpot(b, l, 3)
}

// benchSpot runs the spot-check of one layer of l on 8 tokens with as
// many jobs as CPUs, reporting the bytes read, the float32-against-float64
// error and the process's peak resident set (VmHWM, where /proc has it).
func benchSpot(b *testing.B, l *synth.Layout, layer int) {
	benchSpotTokens(b, l, layer, []int{1, 2, 3, 4, 5, 6, 7, 8})
}

// benchSpotTokens is [benchSpot] on the given tokens.
func benchSpotTokens(b *testing.B, l *synth.Layout, layer int, tokens []int) {
	ck := loadGenerated(b, l)
	b.Run(fmt.Sprintf("layer=%d/jobs=%d", layer, runtime.NumCPU()), func(b *testing.B) {
		runSpot(b, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: runtime.NumCPU()}, "experts-read", true)
	})
}

// loadGenerated loads l from memory, its data generated as it is read
// (see generated).
func loadGenerated(b *testing.B, l *synth.Layout) *checkpoint.Checkpoint {
	src := hub.NewMem(l.Name)
	for _, f := range l.Files {
		src.Add(f.Name, newGenerated(l, f), f.Size)
	}
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	return ck
}

// runSpot times the spot-check of ck with opts, fails unless it passes,
// and reports the bytes read, the float32-against-float64 error, the
// distinct experts read under the metric experts (none when ""), and with
// rss the process's peak resident set.
func runSpot(b *testing.B, ck *checkpoint.Checkpoint, opts spotcheck.Options, experts string, rss bool) {
	b.ReportAllocs()
	var r *spotcheck.Result
	var err error
	for b.Loop() {
		if r, err = spotcheck.Run(context.Background(), ck, opts); err != nil {
			b.Fatal(err)
		}
	}
	if !r.Passes() {
		b.Fatalf("spot-check: passes false, finite %v, float32 vs float64 %g, dead %v", r.Finite, r.MaxRelErr, r.Dead)
	}
	b.SetBytes(r.BytesRead)
	b.ReportMetric(float64(r.BytesRead)/1e6, "MB-read")
	if experts != "" {
		distinct := map[int]bool{}
		for _, ids := range r.Experts {
			for _, id := range ids {
				distinct[id] = true
			}
		}
		b.ReportMetric(float64(len(distinct)), experts)
	}
	b.ReportMetric(r.MaxRelErr, "rel-err")
	if hwm := peakRSS(); rss && hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
}

// peakRSS returns the process's peak resident set in bytes (VmHWM of
// /proc/self/status), 0 where that is not available.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkSpotCheckDeepSeekV3 runs the spot-check of one full-size
// DeepSeek-V3 MoE layer (layer 3: multi-head latent attention of 128
// heads, 256 routed experts of which each token picks 8, one shared
// expert) on 8 tokens, from the published layout with its weights in
// BF16 instead of FP8 (the release's FP8 is BenchmarkSpotCheckDeepSeekV3_FP8),
// as safetensors and as a BF16 GGUF file (kv_b split into attn_k_b and
// attn_v_b). The data is generated as it is read (see generated). One
// token reads its 8 routed experts and the shared one; 8 tokens read the
// union of their choices, which dominates the bytes and the time.
func BenchmarkSpotCheckDeepSeekV3(b *testing.B) {
	c := deepseek.DeepSeekV3()
	c.QuantizationConfig = nil
	spec := deepseek.MustNew(c)
	hf, err := synth.HF("DeepSeek-V3-BF16", spec, synth.HFOptions{Shards: 163, DType: safetensors.BF16})
	if err != nil {
		b.Fatal(err)
	}
	gg, err := synth.GGUF("DeepSeek-V3-BF16", spec, synth.GGUFOptions{Type: "BF16", NoTokenizer: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []*synth.Layout{hf, gg} {
		ck := loadGenerated(b, l)
		for _, tokens := range [][]int{{1}, {1, 2, 3, 4, 5, 6, 7, 8}} {
			b.Run(fmt.Sprintf("%s/tokens=%d/jobs=2", ck.Format, len(tokens)), func(b *testing.B) {
				runSpot(b, ck, spotcheck.Options{Layer: 3, Tokens: tokens, Jobs: 2}, "experts", false)
			})
		}
	}
}

// BenchmarkSpotCheckDeepSeekV3_FP8 runs the spot-check of one full-size
// DeepSeek-V3 MoE layer (layer 3) as the release stores it: every linear
// weight FP8 E4M3 with 128×128 block weight_scale_inv (its config's
// quantization_config: quant_method fp8, fmt e4m3, weight_block_size
// [128, 128]), the norms and router BF16, data generated as read. One
// token reads its 8 routed experts and the shared one; 8 tokens the union
// of their choices, reported as experts-read.
func BenchmarkSpotCheckDeepSeekV3_FP8(b *testing.B) {
	l, err := synth.HF("DeepSeek-V3", deepseek.MustNew(deepseek.DeepSeekV3()), synth.HFOptions{Shards: 163, FP8Blocks: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, tokens := range [][]int{{1}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		b.Run(fmt.Sprintf("tokens=%d", len(tokens)), func(b *testing.B) { benchSpotTokens(b, l, 3, tokens) })
	}
}
