package synth

import (
	"fmt"
	"strconv"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/gguf"
)

// GGUFOptions shapes a GGUF layout.
type GGUFOptions struct {
	// Type is the quantization: "Q4_K_M" (llama.cpp's stock mixture), or
	// one ggml type for every matrix ("F32", "F16", "BF16", "Q8_0",
	// "Q4_0", ...), norms and the router staying F32 as llama.cpp keeps
	// them. The default is "Q4_K_M".
	Type string
	// Parts splits the file into a split set of that many parts,
	// <name>-0000i-of-0000n.gguf; 0 or 1 writes one <name>.gguf.
	Parts int
	// NoTokenizer leaves out the tokenizer arrays (tokens, token types and
	// merges), which make up most of a real header.
	NoTokenizer bool
}

// llama.cpp's LlamaFileType ids (llama.h enum llama_ftype) for the mixtures
// written here.
var fileTypes = map[string]uint32{"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
	"Q2_K": 10, "Q3_K_M": 12, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "BF16": 32}

// GGUF lays out spec as llama.cpp's converter and quantizer would write
// it: the architecture metadata its [arch.GGUFWriter] gives (the spec must
// have one), the tokenizer arrays sized to the vocabulary, and the tensors
// of its GGUF layout typed by the chosen quantization.
func GGUF(name string, spec arch.Spec, opts GGUFOptions) (*Layout, error) {
	w, ok := spec.(arch.GGUFWriter)
	if !ok {
		return nil, fmt.Errorf("%w: %s gives no GGUF metadata", errConfig, spec.Family())
	}
	if opts.Type == "" {
		opts.Type = "Q4_K_M"
	}
	if opts.Parts <= 0 {
		opts.Parts = 1
	}
	quant, err := cost.ParseQuantization(opts.Type)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	exp := spec.Expected(checkpoint.FormatGGUF)
	layers := int(spec.Dims().Layers)
	if len(exp) < opts.Parts {
		return nil, fmt.Errorf("%w: %d tensors cannot fill %d parts", errConfig, len(exp), opts.Parts)
	}
	infos := make([]gguf.TensorInfo, len(exp))
	sizes := make([]int64, len(exp))
	var total int64
	for i, e := range exp {
		infos[i] = gguf.TensorInfo{Name: e.Name, Dims: e.Shape, Type: quant.TypeOf(layers, e)}
		if sizes[i], err = infos[i].Type.Bytes(e.Shape); err != nil {
			return nil, fmt.Errorf("%w: tensor %s as %s: %v", errConfig, e.Name, infos[i].Type, err)
		}
		total += sizes[i]
	}
	kvs := metadata(name, w, spec.Dims().Vocab, opts)
	bounds := cut(sizes, total, opts.Parts)
	l := &Layout{Name: name}
	for p := 0; p < opts.Parts; p++ {
		file := name + ".gguf"
		var partKVs []gguf.KV
		if opts.Parts > 1 {
			file = gguf.SplitName(name, p+1, opts.Parts)
			if p == 0 {
				partKVs = append(partKVs, kvs...)
			}
			partKVs = append(partKVs,
				gguf.KV{Key: gguf.KeySplitNo, Value: gguf.Uint16(uint16(p))},
				gguf.KV{Key: gguf.KeySplitCount, Value: gguf.Uint16(uint16(opts.Parts))},
				gguf.KV{Key: gguf.KeySplitTensorsCount, Value: gguf.Int32(int32(len(exp)))})
		} else {
			partKVs = kvs
		}
		part := infos[bounds[p]:bounds[p+1]]
		head, dataSize, err := gguf.EncodeHeader(3, partKVs, part)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		l.Files = append(l.Files, File{Name: file, Head: head, Size: int64(len(head)) + dataSize})
		for _, t := range part {
			l.Tensors = append(l.Tensors, Placed{Name: t.Name, File: file, Offset: int64(len(head)) + t.Offset,
				Bytes: t.Size, DType: t.Type.String(), Shape: t.Dims})
		}
	}
	return l, nil
}

// metadata returns the key-value pairs of the first (or only) file.
func metadata(name string, w arch.GGUFWriter, vocab int64, opts GGUFOptions) []gguf.KV {
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(w.GGUFArch())},
		{Key: "general.type", Value: gguf.String("model")},
		{Key: "general.name", Value: gguf.String(name)},
	}
	kvs = append(kvs, w.GGUFMetadata()...)
	if ft, ok := fileTypes[opts.Type]; ok {
		kvs = append(kvs, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(ft)})
	}
	kvs = append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
	if !opts.NoTokenizer {
		kvs = append(kvs, tokenizer(vocab)...)
	}
	return kvs
}

// tokenizer returns byte-level BPE tokenizer arrays of the given vocabulary
// size, shaped like Qwen's: tokens, token types, and about as many merges
// as tokens (151,387 for 151,936 tokens). The strings are made up; their
// count and lengths are realistic.
func tokenizer(vocab int64) []gguf.KV {
	tokens := make([]string, vocab)
	types := make([]int32, vocab)
	for i := range tokens {
		tokens[i] = "Ġt" + strconv.FormatInt(int64(i)*2654435761%1000003, 36)
		types[i] = 1
	}
	merges := make([]string, vocab*151387/151936)
	for i := range merges {
		merges[i] = "Ġ m" + strconv.FormatInt(int64(i), 36)
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String("qwen2")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.StringArray(merges)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(uint32(vocab - 1))},
		{Key: "tokenizer.ggml.padding_token_id", Value: gguf.Uint32(uint32(vocab - 1))},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(uint32(vocab - 2))},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
	}
}
