package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/safetensors"
)

// checkTensors compares the inventory with the spec's expected tensor set,
// to which roles (from [Assign]) map it.
func checkTensors(ck *checkpoint.Checkpoint, spec arch.Spec, inv *checkpoint.Inventory, roles []arch.Role) []Finding {
	family := spec.Family()
	var out []Finding
	add := func(t *checkpoint.Tensor, format string, args ...any) {
		out = append(out, Finding{Check: CheckTensors, Tensor: t.Name, File: t.File, Message: fmt.Sprintf(format, args...)})
	}
	first := make([]int32, spec.Count(inv.Format)) // 1 + the inventory index of each expected tensor's first copy
	unknown := map[string]*checkpoint.Tensor{}
	for i := range inv.Tensors {
		t := &inv.Tensors[i]
		r := &roles[i]
		if r.Known {
			if f := first[r.Index]; f > 0 {
				add(t, "stored twice: also in %s at offset %d", inv.Tensors[f-1].File, inv.Tensors[f-1].Offset)
				continue
			}
			first[r.Index] = int32(i + 1)
		} else if prev, dup := unknown[t.Name]; dup {
			add(t, "stored twice: also in %s at offset %d", prev.File, prev.Offset)
			continue
		} else {
			unknown[t.Name] = t
		}
		if !r.Known {
			add(t, "unexpected tensor: %s predicts no tensor of this name", family)
			continue
		}
		if !slices.Equal(t.Shape, r.Shape) {
			add(t, "shape %v, want %v", t.Shape, r.Shape)
		}
		if msg := dtypeProblem(inv.Format, t.DType, r.Expected); msg != "" {
			add(t, "%s", msg)
		}
	}
	if slices.Contains(first, 0) { // name what is missing: only now build the list
		absent := absentShards(ck)
		inAbsent := map[string][]string{} // absent shard: the expected tensors the index puts there
		for j, e := range spec.Expected(inv.Format) {
			if first[j] != 0 {
				continue
			}
			if ck.Index != nil {
				if shard, ok := ck.Index.Shard(e.Name); ok && absent[shard] {
					inAbsent[shard] = append(inAbsent[shard], e.Name)
					continue
				}
			}
			out = append(out, Finding{Check: CheckTensors, Tensor: e.Name, Message: fmt.Sprintf("missing: %s predicts %s %v", family, e.Component, e.Shape)})
		}
		// The root cause first: one finding per absent shard, not one per
		// tensor it held.
		var causes []Finding
		for _, shard := range slices.Sorted(maps.Keys(inAbsent)) {
			names := inAbsent[shard]
			causes = append(causes, Finding{Check: CheckTensors, File: shard, Tensor: names[0], Message: fmt.Sprintf(
				"%d expected tensor(s) missing because shard %s, which the index names for them, is absent (see %s); the first is %s", len(names), shard, CheckFiles, names[0])})
		}
		out = append(causes, out...)
	}
	return out
}

// isFloatType reports whether dtype (in either format's spelling) stores
// weights as plain floating point.
func isFloatType(dtype string) bool {
	switch dtype {
	case "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2":
		return true
	}
	return false
}

// packedDTypes are the dtypes a packed weight is stored in: gpt-oss's
// MXFP4 blocks in bytes, GPTQ's and AWQ's qweight in int32.
var packedDTypes = map[arch.Packing]string{arch.PackMXFP4: "U8", arch.PackGPTQ: "I32", arch.PackAWQ: "I32"}

// dtypeProblem says what is wrong with storing tensor e as dtype, or "".
// Safetensors checkpoints of these families store every tensor as a float,
// but a packed weight in its packing's integer type and a companion
// (scales, zero points, g_idx) as its scheme has it; GGUF files may
// quantize matrices but keep norms and the router in float, as llama.cpp's
// quantizer does.
func dtypeProblem(f checkpoint.Format, dtype string, e arch.Expected) string {
	switch {
	case f == checkpoint.FormatSafetensors && e.Packing != arch.PackNone:
		if want := packedDTypes[e.Packing]; dtype != want {
			return fmt.Sprintf("dtype %s: packed %s values are stored as %s", dtype, e.Component, want)
		}
	case f == checkpoint.FormatSafetensors && e.Part == arch.PartCompanion:
	case f == checkpoint.FormatSafetensors && !isFloatType(dtype):
		return fmt.Sprintf("dtype %s: a %s checkpoint stores %s as a float type", dtype, f, e.Component)
	case f == checkpoint.FormatGGUF && cost.KeepsFloat(e) && !isFloatType(dtype):
		return fmt.Sprintf("dtype %s: %s must stay F32 (or F16/BF16); llama.cpp never quantizes it", dtype, e.Component)
	}
	return ""
}

// checkFiles turns the index-against-shards mismatches into findings.
func checkFiles(ck *checkpoint.Checkpoint) []Finding {
	var out []Finding
	inv := ck.Inventory()
	for _, f := range ck.Files {
		if f.Missing <= 0 {
			continue
		}
		var cut []string // the tensors whose data runs past the end
		for i := range inv.Tensors {
			if t := &inv.Tensors[i]; t.File == f.Name && t.Offset+t.Bytes > f.Size {
				cut = append(cut, t.Name)
			}
		}
		msg := fmt.Sprintf("truncated: the file is %s bytes, its header declares %s; %s bytes of tensor data are missing from the end (an interrupted download?)",
			textfmt.Count(f.Size), textfmt.Count(f.Size+f.Missing), textfmt.Count(f.Missing))
		first := ""
		if len(cut) > 0 {
			first = cut[0]
			msg += fmt.Sprintf("; %d tensor(s) cut off: %s", len(cut), strings.Join(cut[:min(len(cut), 3)], ", "))
			if len(cut) > 3 {
				msg += fmt.Sprintf(" and %d more", len(cut)-3)
			}
		}
		out = append(out, Finding{Check: CheckFiles, File: f.Name, Tensor: first, Message: msg})
	}
	lost := map[string]int{} // absent shard: the tensors the index puts there
	if ck.Index != nil {
		for _, shard := range ck.Index.All() {
			lost[shard]++
		}
	}
	for _, m := range ck.Mismatches {
		file := m.Shard
		if file == "" {
			file = ck.IndexName
		}
		msg := m.String()
		if m.Kind == safetensors.MissingShard {
			msg += fmt.Sprintf(": the %d tensor(s) the index puts there are missing because of it", lost[m.Shard])
		}
		out = append(out, Finding{Check: CheckFiles, Tensor: m.Tensor, File: file, Message: msg})
	}
	return out
}

// absentShards returns the shards a safetensors index names that were not
// provided.
func absentShards(ck *checkpoint.Checkpoint) map[string]bool {
	out := map[string]bool{}
	for _, m := range ck.Mismatches {
		if m.Kind == safetensors.MissingShard {
			out[m.Shard] = true
		}
	}
	return out
}

// describe joins a check's findings into its one-line detail.
func describe(fs []Finding, okDetail string) string {
	if len(fs) == 0 {
		return okDetail
	}
	return textfmt.FirstOf(len(fs), "finding", findingText(fs[0]))
}
