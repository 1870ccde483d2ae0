package compare

import (
	"context"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
)

// fileTypes names llama.cpp's general.file_type ids (llama.h enum
// llama_ftype) whose type recipe the cost package knows: the stock
// Q4_K_M mixture and the uniform types.
var fileTypes = map[uint64]string{0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 15: "Q4_K_M", 18: "Q6_K", 32: "BF16"}

// metadata compares what the two sides say of the model beside the
// tensors: the configuration (config.json against the GGUF metadata,
// field by field, through the family's [arch.ConfigComparer]), the
// tokenizers' sizes against the embeddings and each other
// ([tokenizerFindings]) and, for a GGUF side, every tensor's type against
// the recipe its general.file_type names. It fails only when a file
// cannot be read.
func metadata(ctx context.Context, sa, sb *side) ([]Finding, error) {
	var out []Finding
	if sa.ck.Format != sb.ck.Format {
		hf, gg := sa.spec, sb.spec
		if sa.ck.Format == checkpoint.FormatGGUF {
			hf, gg = sb.spec, sa.spec
		}
		if cc, ok := hf.(arch.ConfigComparer); ok {
			for _, c := range cc.CompareConfig(gg) {
				out = append(out, Finding{Field: c.Field, Message: c.Message})
			}
		}
	}
	var vs [2]vocabulary
	for i, s := range []*side{sa, sb} {
		v, fs, err := tokenizerFrom(ctx, s)
		if err != nil {
			return nil, err
		}
		vs[i] = v
		out = append(out, fs...)
	}
	out = append(out, tokenizerFindings(vs)...)
	for _, s := range []*side{sa, sb} {
		out = append(out, recipe(s.ck, s.spec)...)
	}
	return out, nil
}

// recipe checks a GGUF file's tensor types against the recipe of its
// general.file_type, when the type is one whose recipe is known.
func recipe(ck *checkpoint.Checkpoint, spec arch.Spec) []Finding {
	if ck.Format != checkpoint.FormatGGUF || len(ck.GGUF) == 0 {
		return nil
	}
	id, err := ck.GGUF[0].GetUint("general.file_type")
	if err != nil {
		return nil
	}
	name, ok := fileTypes[id]
	if !ok {
		return nil
	}
	q, err := cost.ParseQuantization(name)
	if err != nil {
		return nil
	}
	types := map[string]string{}
	for _, t := range ck.Inventory().Tensors {
		types[t.Name] = t.DType
	}
	layers := int(spec.Dims().Layers)
	var out []Finding
	for _, e := range spec.Expected(checkpoint.FormatGGUF) {
		got, ok := types[e.Name]
		if !ok {
			continue // the pairing reports it missing
		}
		if want := q.TypeOf(layers, e).String(); got != want {
			out = append(out, Finding{Field: "general.file_type", Tensor: e.Name,
				Message: fmt.Sprintf("%s: %s is %s, where the %s recipe its general.file_type %d names gives %s", ck.Source, e.Name, got, name, id, want)})
		}
	}
	return out
}
