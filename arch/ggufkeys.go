package arch

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/gguf"
)

// GGUFKey is one "<arch>." metadata key llama.cpp's converter writes for a
// family, with the config field it carries and how to reach that field in
// the family's config C. A family lists its keys in one [GGUFKeys] table
// that both reads a GGUF file's architecture and writes a synthesized
// one's.
type GGUFKey[C any] struct {
	Key   string            // after "<arch>.", e.g. "attention.head_count"
	Field string            // the config.json key it carries
	Int   func(c *C) *int64 // an integer key (set exactly one of Int and Float)
	Float func(c *C) *float64
	// Required makes reading fail without the key: without it the
	// tensors cannot be counted.
	Required bool
	// MoE marks a key of mixture-of-experts models only: read and written
	// only when the table is used with moe set.
	MoE bool
	// WriteOnly marks a key written, never read (value_length repeating
	// key_length).
	WriteOnly bool
	// Loader marks a key llama.cpp's loader requires although the audit
	// counts without it (llama-model.cpp load_hparams: context_length,
	// layer_norm_rms_epsilon): its absence is one of the spec's config
	// problems ([GGUFSource], [ConfigProblems]).
	Loader bool
	// Default is what llama.cpp assumes for an absent float key.
	Default float64
	// Fallback is what llama.cpp assumes for an absent integer key, worked
	// out from the rest of the config once every key is read; nil when it
	// assumes nothing.
	Fallback func(c *C) int64
	// Same marks a key that repeats its field's value (rope.dimension_count
	// repeating the head dimension): written from the field, read only to
	// check that it agrees. Same returns the problem, naming full (the
	// whole key), when the file's value got differs from the field's want.
	Same func(full string, got, want int64) string
}

// GGUFKeys is a family's table of GGUF metadata keys, in the order it
// writes them.
type GGUFKeys[C any] []GGUFKey[C]

// maxGGUFValue bounds an integer read from GGUF metadata: far above any
// limit a family's validation allows (MaxDim), yet small enough that no
// product of a few of them overflows before that validation refuses it.
const maxGGUFValue = MaxDim * 1024

// readable reports whether reading looks the key up as its field's value.
func (k *GGUFKey[C]) readable() bool { return !k.WriteOnly && k.Same == nil }

// Read reads the keys of the table from m's first part into c, under m's
// architecture: every key but the write-only ones, and the MoE ones only
// when moe is set. An absent float key takes its Default, an absent
// integer key its Fallback (once all keys are read) or leaves the field
// as c had it. It returns what the metadata said of each field (absent,
// unreadable, contradicted). The error joins one error per key without
// which nothing can be counted: a Required key absent, an integer key not
// an unsigned integer, or a value beyond the limit; each names its key,
// and c is then left part-read. The caller wraps it as its family does.
func (t GGUFKeys[C]) Read(m *GGUFMeta, c *C, moe bool) (*GGUFSource, error) {
	src := &GGUFSource{arch: m.Arch, keys: map[string]string{}, absent: map[string]bool{}}
	for i := range t {
		if k := &t[i]; k.readable() {
			if _, ok := src.keys[k.Field]; !ok {
				src.keys[k.Field] = m.Arch + "." + k.Key
			}
		}
	}
	var errs []error
	same := map[int]int64{} // the values of the Same keys, by table index
	for i := range t {
		k := &t[i]
		if k.WriteOnly || (k.MoE && !moe) {
			continue
		}
		full := m.Arch + "." + k.Key
		missing := func() {
			src.absent[k.Field] = true
			if k.Loader {
				src.unread = append(src.unread, Conflict{Field: k.Field, Message: fmt.Sprintf("the GGUF metadata has no %s (%s), which llama.cpp requires", full, k.Field)})
			}
		}
		if k.Float != nil {
			v, err := m.Float(k.Key)
			switch {
			case err == nil:
				*k.Float(c) = v
			case errors.Is(err, gguf.ErrNotFound):
				*k.Float(c) = k.Default
				missing()
			default:
				*k.Float(c) = k.Default
				src.absent[k.Field] = true
				src.unread = append(src.unread, Conflict{Field: k.Field, Message: fmt.Sprintf("%s (%s) cannot be read as llama.cpp reads it: %v", full, k.Field, err)})
			}
			continue
		}
		v, err := m.Uint(k.Key)
		switch {
		case err == nil && v > maxGGUFValue:
			errs = append(errs, fmt.Errorf("key %q = %d: too large", full, v))
		case err == nil && k.Same != nil:
			same[i] = int64(v)
		case err == nil:
			*k.Int(c) = int64(v)
		case k.Required || !errors.Is(err, gguf.ErrNotFound):
			errs = append(errs, err)
		case k.Same == nil:
			missing()
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range t {
		if k := &t[i]; k.Fallback != nil && src.absent[k.Field] {
			*k.Int(c) = k.Fallback(c)
		}
	}
	for i := range t {
		if v, ok := same[i]; ok {
			if k := &t[i]; v != *k.Int(c) {
				src.disagree = append(src.disagree, Conflict{Field: k.Field, Message: k.Same(m.Arch+"."+k.Key, v, *k.Int(c))})
			}
		}
	}
	return src, nil
}

// Write returns the keys of the table for c under arch ("<arch>.<key>"),
// integers as uint32 and floats as float32 as llama.cpp writes them; the
// MoE keys only when moe is set.
func (t GGUFKeys[C]) Write(arch string, c *C, moe bool) []gguf.KV {
	var kvs []gguf.KV
	for i := range t {
		k := &t[i]
		if k.MoE && !moe {
			continue
		}
		var v gguf.Value
		if k.Float != nil {
			v = gguf.Float32(float32(*k.Float(c)))
		} else {
			v = gguf.Uint32(uint32(*k.Int(c)))
		}
		kvs = append(kvs, gguf.KV{Key: arch + "." + k.Key, Value: v})
	}
	return kvs
}

// GGUFSource is what a spec read from GGUF metadata knows of its source,
// as [GGUFKeys.Read] found it: the architecture prefix of its keys, and
// the fields whose key the metadata lacks, holds in a form llama.cpp does
// not read, or contradicts. It is not changed after Read and is safe for
// concurrent use.
type GGUFSource struct {
	arch string
	keys map[string]string // the full key carrying each field
	// absent holds the fields whose key the metadata lacks, the value
	// llama.cpp assumes standing in.
	absent map[string]bool
	// unread says, by field in table order, why a key llama.cpp needs
	// could not be read: absent though its loader requires it, or of
	// another type than a float. The audit counts without it.
	unread []Conflict
	// disagree lists each key that repeats its field with another value.
	disagree []Conflict
}

// Key returns the full metadata key ("<arch>.<key>") carrying the config
// field, "" when no key does.
func (g *GGUFSource) Key(field string) string { return g.keys[field] }

// Absent reports whether the metadata lacks the key of field, so that the
// config holds the value llama.cpp assumes.
func (g *GGUFSource) Absent(field string) bool { return g.absent[field] }

// Unread reports whether the key of field could not be read as llama.cpp
// reads it (absent though llama.cpp requires it, or of another type).
func (g *GGUFSource) Unread(field string) bool {
	for _, c := range g.unread {
		if c.Field == field {
			return true
		}
	}
	return false
}
