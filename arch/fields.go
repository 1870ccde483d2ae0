package arch

import (
	"fmt"
	"math"
)

// Field is one field of a family's config C, as the published profiles
// ([MatchProfiles]) and a config.json against GGUF metadata
// ([Fields.CompareGGUF]) compare it.
type Field[C any] struct {
	Name string // the config.json key
	// Structural marks a field of the architecture's shape (as opposed
	// to routing or RoPE): a profile whose structural fields a config has
	// is the one its dimensions name.
	Structural bool
	// InGGUF says a GGUF file carries the field, in a metadata key or
	// (GGUFBy, the tensor's name) in the presence of a tensor.
	InGGUF bool
	GGUFBy string
	// OfProfile says a recognized profile's value is compared. A
	// family leaves out what a fine-tune may change and still be the
	// model (the context length, the RoPE base, the norm epsilon).
	OfProfile bool
	Get       func(c *C) any // the value, comparable
}

// Fields is a family's table of config fields.
type Fields[C any] []Field[C]

// SameStructure reports whether a and b agree on every structural field.
func (fs Fields[C]) SameStructure(a, b *C) bool {
	for i := range fs {
		if f := &fs[i]; f.Structural && f.Get(a) != f.Get(b) {
			return false
		}
	}
	return true
}

// ProfileConflicts lists each field compared with profiles (OfProfile) on
// which c differs from p, the config of the published model called name.
func (fs Fields[C]) ProfileConflicts(c, p *C, name string) []Conflict {
	var out []Conflict
	for i := range fs {
		f := &fs[i]
		if !f.OfProfile {
			continue
		}
		if got, want := f.Get(c), f.Get(p); got != want {
			out = append(out, Conflict{Field: f.Name, Message: fmt.Sprintf("%s is %v, %s has %v", f.Name, got, name, want)})
		}
	}
	return out
}

// CompareGGUF lists each field a GGUF file carries (InGGUF) on which g, a
// config read from GGUF metadata with src, disagrees with c, read from
// config.json: floats within [Float32Tolerance] (the metadata holds them
// as float32), anything else exactly. A key the metadata lacks compares
// as the value llama.cpp assumes, and the message says so, as it says
// when a tensor's presence tells the value; a key llama.cpp cannot read is
// not compared (its [ConfigProblems] report it). src is nil for a spec
// that was not read from GGUF metadata.
func (fs Fields[C]) CompareGGUF(c, g *C, src *GGUFSource) []Conflict {
	var out []Conflict
	for i := range fs {
		f := &fs[i]
		if !f.InGGUF {
			continue
		}
		var note string
		if src != nil {
			if src.Unread(f.Name) {
				continue
			}
			switch {
			case f.GGUFBy != "":
				note = fmt.Sprintf(" (judged by whether the file has %s)", f.GGUFBy)
			case src.Absent(f.Name):
				note = fmt.Sprintf(" (%s absent: what llama.cpp assumes)", src.Key(f.Name))
			}
		}
		if a, b := f.Get(c), f.Get(g); !SameValue(a, b) {
			out = append(out, Conflict{Field: f.Name, Message: fmt.Sprintf("config.json has %s %v, the GGUF metadata %v%s", f.Name, a, b, note)})
		}
	}
	return out
}

// Float32Tolerance is the relative difference within which two float
// fields agree. GGUF stores rope.freq_base and layer_norm_rms_epsilon as
// float32, whose rounding moves a value by at most 2⁻²⁴ of itself; the
// tolerance is twice that, one float32 epsilon (2⁻²³ ≈ 1.2e-7). So 1e-6
// in config.json and float32(1e-6) = 9.99999997e-7 in the metadata agree,
// while any difference a person writes (1e-6 against 1e-5, 1e4 against
// 1e6) does not.
const Float32Tolerance = 0x1p-23

// SameValue reports whether two values of a field agree: float64s within
// [Float32Tolerance] of the larger magnitude (below float32's normal
// range, when they round to the same float32; NaN only with NaN, an
// infinity only with itself), anything else exactly.
func SameValue(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if !ok1 || !ok2 {
		return a == b
	}
	m := max(math.Abs(x), math.Abs(y))
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case x == y:
		return true
	case math.IsInf(m, 1):
		return false
	case m < 0x1p-126: // float32's smallest normal number
		return float32(x) == float32(y)
	}
	return math.Abs(x-y) <= Float32Tolerance*m
}
