package synth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/checked"
	"github.com/weightaudit/weightaudit/safetensors"
)

// HFOptions shapes a Hugging Face layout.
type HFOptions struct {
	// Shards is the number of .safetensors files; 1 writes a single
	// model.safetensors without an index. Zero means 1.
	Shards int
	// DType is the dtype of every tensor but the packed ones and their
	// companions, which are stored as published (MXFP4 in U8, GPTQ and AWQ
	// in I32 with F16 scales). The zero value means BF16, as the
	// published Qwen3 checkpoints are stored.
	DType safetensors.DType
	// FP8Blocks stores as block-quantized FP8 checkpoints do
	// (DeepSeek-V3's, Qwen3's -FP8 releases): each weight that has a
	// "….weight_scale_inv" companion in F8_E4M3, the companions in F32,
	// the rest in DType.
	FP8Blocks bool
	// FP8Type is the dtype of those weights with FP8Blocks: F8_E4M3
	// (the zero value) or F8_E5M2.
	FP8Type safetensors.DType
}

// HF lays out spec as a Hugging Face repository: config.json, and either one
// model.safetensors or Shards files model-0000i-of-0000n.safetensors with a
// model.safetensors.index.json. Tensors are stored in the order
// spec.Expected(checkpoint.FormatSafetensors) gives and split across shards at tensor
// boundaries so that each shard holds about the same number of bytes.
func HF(name string, spec arch.Spec, opts HFOptions) (*Layout, error) {
	if opts.Shards <= 0 {
		opts.Shards = 1
	}
	if opts.DType == 0 {
		opts.DType = safetensors.BF16
	}
	exp := spec.Expected(checkpoint.FormatSafetensors)
	if len(exp) < opts.Shards {
		return nil, fmt.Errorf("%w: %d tensors cannot fill %d shards", errConfig, len(exp), opts.Shards)
	}
	dtypes := make([]safetensors.DType, len(exp))
	var scaled map[string]bool
	if opts.FP8Blocks {
		scaled = map[string]bool{}
		for _, e := range exp {
			if w, ok := strings.CutSuffix(e.Name, "_scale_inv"); ok {
				scaled[w] = true
			}
		}
	}
	sizes := make([]int64, len(exp))
	var total int64
	for i, e := range exp {
		dtypes[i] = opts.DType
		switch {
		case scaled[e.Name]:
			dtypes[i] = safetensors.F8_E4M3
			if opts.FP8Type == safetensors.F8_E5M2 {
				dtypes[i] = opts.FP8Type
			}
		case scaled != nil && strings.HasSuffix(e.Name, "_scale_inv"):
			dtypes[i] = safetensors.F32
		default:
			if dt, ok := packedDType(e); ok {
				dtypes[i] = dt
			}
		}
		n, ok := checked.Product(e.Shape)
		bits, ok2 := checked.Mul(n, int64(dtypes[i].Bits()))
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: tensor %s: shape %v overflows an int64 byte count", errConfig, e.Name, e.Shape)
		}
		if bits%8 != 0 {
			return nil, fmt.Errorf("%w: tensor %s: %d elements of %s are not whole bytes", errConfig, e.Name, n, dtypes[i])
		}
		sizes[i] = bits / 8
		if total, ok = checked.Add(total, sizes[i]); !ok {
			return nil, fmt.Errorf("%w: the tensors' bytes overflow an int64", errConfig)
		}
	}

	bounds := cut(sizes, total, opts.Shards)

	l := &Layout{Name: name}
	cfgJSON, err := json.MarshalIndent(spec.Config(), "", "  ")
	if err != nil {
		return nil, err
	}
	l.Files = append(l.Files, File{Name: "config.json", Head: cfgJSON, Size: int64(len(cfgJSON))})
	weightMap := map[string]string{}
	for s := 0; s < opts.Shards; s++ {
		shard := "model.safetensors"
		if opts.Shards > 1 {
			shard = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, opts.Shards)
		}
		infos := make([]safetensors.TensorInfo, 0, bounds[s+1]-bounds[s])
		for i, e := range exp[bounds[s]:bounds[s+1]] {
			infos = append(infos, safetensors.TensorInfo{Name: e.Name, DType: dtypes[bounds[s]+i], Shape: e.Shape})
			weightMap[e.Name] = shard
		}
		head, dataSize, err := safetensors.EncodeHeader(map[string]string{"format": "pt"}, infos)
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", shard, err)
		}
		l.Files = append(l.Files, File{Name: shard, Head: head, Size: int64(len(head)) + dataSize})
		for _, t := range infos {
			l.Tensors = append(l.Tensors, Placed{Name: t.Name, File: shard, Offset: int64(len(head)) + t.Begin,
				Bytes: t.End - t.Begin, DType: t.DType.String(), Shape: t.Shape})
		}
	}
	if opts.Shards > 1 {
		index := map[string]any{
			"metadata":   map[string]any{"total_size": total},
			"weight_map": weightMap,
		}
		b, err := json.MarshalIndent(index, "", "  ")
		if err != nil {
			return nil, err
		}
		l.Files = append(l.Files, File{Name: "model.safetensors.index.json", Head: b, Size: int64(len(b))})
	}
	return l, nil
}

// cut splits tensors with the given byte sizes into parts runs of about
// total/parts bytes each, every run holding at least one tensor (the caller
// ensures len(sizes) >= parts). It returns parts+1 boundaries.
func cut(sizes []int64, total int64, parts int) []int {
	bounds := make([]int, 0, parts+1)
	bounds = append(bounds, 0)
	var acc float64
	for i := range sizes {
		acc += float64(sizes[i])
		s := len(bounds)
		if s < parts && acc*float64(parts) >= float64(total)*float64(s) && len(sizes)-(i+1) >= parts-s {
			bounds = append(bounds, i+1)
		}
	}
	for len(bounds) < parts {
		bounds = append(bounds, len(sizes)-(parts-len(bounds)))
	}
	return append(bounds, len(sizes))
}

// packedDType is the dtype a packed tensor or its companion is stored in,
// as the published checkpoints store them: gpt-oss's MXFP4 blocks and
// scales in U8; GPTQ's and AWQ's qweight, qzeros and g_idx in I32, their
// scales in F16.
func packedDType(e arch.Expected) (safetensors.DType, bool) {
	switch {
	case e.Packing == arch.PackMXFP4, e.Part == arch.PartCompanion && strings.HasSuffix(e.Name, "_scales"):
		return safetensors.U8, true
	case e.Packing == arch.PackGPTQ, e.Packing == arch.PackAWQ,
		e.Part == arch.PartCompanion && (strings.HasSuffix(e.Name, ".qzeros") || strings.HasSuffix(e.Name, ".g_idx")):
		return safetensors.I32, true
	case e.Part == arch.PartCompanion && strings.HasSuffix(e.Name, ".scales"):
		return safetensors.F16, true
	}
	return 0, false
}
