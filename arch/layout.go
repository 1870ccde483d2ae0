package arch

import (
	"sync"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// The helpers of a family's tensor table (its layout.go): the table names
// each tensor and gives its shape; these turn a stored name back into its
// role without building the expected list.

// CutIndex cuts the decimal index at the start of s and the dot after it,
// as a tensor name carries a layer's or an expert's index after its
// prefix: CutIndex("12.mlp.gate.weight") is 12, "mlp.gate.weight". false
// when no dot follows the digits, or the index has a leading zero or more
// than 9 digits (names never carry them). The family cuts its prefix
// first (strings.CutPrefix), where a constant prefix compares in place.
// CutIndex stays a call (its body is above the compiler's inlining
// budget): inlined into qwen3's Assign, the larger loop measured slower
// (BenchmarkAssign in arch/qwen3).
func CutIndex(s string) (int, string, bool) {
	i, n := 0, 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		n = 10*n + int(s[i]-'0')
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '.' || (s[0] == '0' && i > 1) {
		return 0, "", false
	}
	return n, s[i+1:], true
}

// Fill sets r to the role template t gives the tensor called name, at
// layer, expert and index (its position in the expected list), and
// returns true, for an [Assigner] to return. It writes field by field: on
// a checkpoint of tens of thousands of tensors, a whole-struct copy costs
// a bulk write barrier per tensor.
func (r *Role) Fill(t *Role, name string, layer, expert, index int) bool {
	r.Name, r.Shape, r.Layer, r.Component, r.Expert = name, t.Shape, layer, t.Component, expert
	r.Known, r.Group, r.CompIndex, r.Index, r.Part, r.Values, r.Packing = true, t.Group, t.CompIndex, index, t.Part, t.Values, t.Packing
	return true
}

// At returns the template e as the tensor called name, at layer and
// expert (-1 for none).
func (e Expected) At(name string, layer, expert int) Expected {
	e.Name, e.Layer, e.Expert = name, layer, expert
	return e
}

// ShapeIn returns a logical shape (outermost first) in format f's order:
// logical itself for safetensors, a reversed copy for GGUF, whose ne
// order puts the innermost (contiguous) dimension first.
func ShapeIn(f checkpoint.Format, logical []int64) []int64 {
	if f != checkpoint.FormatGGUF {
		return logical
	}
	r := make([]int64, len(logical))
	for i := range logical {
		r[i] = logical[len(logical)-1-i]
	}
	return r
}

// Layouts holds a family spec's two layouts, one per checkpoint format,
// each built on first use by the function given to [NewLayouts]. It is
// safe for concurrent use; the zero value is not usable.
type Layouts[L any] struct {
	build func(checkpoint.Format) L
	once  [2]sync.Once
	v     [2]L
}

// NewLayouts returns the layouts that build makes, one per format.
func NewLayouts[L any](build func(checkpoint.Format) L) *Layouts[L] {
	return &Layouts[L]{build: build}
}

// Of returns the layout of format f, building it the first time.
func (l *Layouts[L]) Of(f checkpoint.Format) L {
	i := 0
	if f == checkpoint.FormatGGUF {
		i = 1
	}
	l.once[i].Do(func() { l.v[i] = l.build(f) })
	return l.v[i]
}
