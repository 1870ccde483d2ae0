package arch

import (
	"fmt"
	"math"
)

// MaxDim bounds every dimension of a config so that the predictions'
// products stay small; MaxLayers bounds the number of decoder layers, as
// the predictions list every expected tensor (published models have fewer
// than 200 layers). A family then checks its parameter count for
// overflow.
const (
	MaxDim    = 1 << 20
	MaxLayers = 4096
)

// Dim is one dimension of a config, by its config key, as [CheckDims]
// checks it.
type Dim struct {
	Key   string // the config.json key, e.g. "hidden_size"
	Value int64
	// Optional allows 0, for a part the model may lack (the experts of a
	// dense model); otherwise the dimension must be positive.
	Optional bool
	// Limit is the largest value allowed; 0 means MaxDim.
	Limit int64
}

// CheckDims returns an error wrapping [ErrConfig] that names the key of
// the first of dims that is negative, zero where it must be positive, or
// beyond its limit; nil when every one is within.
func CheckDims(dims ...Dim) error {
	for _, d := range dims {
		limit := d.Limit
		if limit == 0 {
			limit = MaxDim
		}
		switch {
		case !d.Optional && d.Value <= 0:
			return fmt.Errorf("%w: config key %q = %d, want > 0", ErrConfig, d.Key, d.Value)
		case d.Value < 0:
			return fmt.Errorf("%w: config key %q = %d, want ≥ 0", ErrConfig, d.Key, d.Value)
		case d.Value > limit:
			return fmt.Errorf("%w: config key %q = %d exceeds the limit %d", ErrConfig, d.Key, d.Value, limit)
		}
	}
	return nil
}

// BadValue is a value of a config the model cannot run with although its
// tensors can still be counted: the config key, the value, and what it
// should be. A family lists them for its [ConfigChecker] through
// [ConfigProblems].
type BadValue struct {
	Key, Got, Want string
}

// AppendRopeBase appends to dst the problem of a RoPE base x (under key)
// that is not a positive finite number: transformers and llama.cpp raise
// it to the power -2i/d.
func AppendRopeBase(dst []BadValue, key string, x float64) []BadValue {
	if !(x > 0) || math.IsInf(x, 1) {
		dst = append(dst, BadValue{key, fmt.Sprint(x), "a positive finite number"})
	}
	return dst
}

// AppendNormEps appends to dst the problem of a norm epsilon x (under
// key) that is negative or not finite: the RMSNorm adds it under a square
// root.
func AppendNormEps(dst []BadValue, key string, x float64) []BadValue {
	if !(x >= 0) || math.IsInf(x, 1) {
		dst = append(dst, BadValue{key, fmt.Sprint(x), "a finite number ≥ 0"})
	}
	return dst
}

// AppendPositions appends to dst the problem of a context length n (under
// key) below one position.
func AppendPositions(dst []BadValue, key string, n int64) []BadValue {
	if n < 1 {
		dst = append(dst, BadValue{key, fmt.Sprint(n), "≥ 1"})
	}
	return dst
}

// ConfigProblems returns the [ConfigChecker] problems of a spec whose
// config has the values bad, each naming its config.json key in Field.
// For a spec read from GGUF metadata (src not nil) they start with each
// key llama.cpp needs that src could not read and each key that
// contradicts the field it repeats; each bad value's message then names
// its metadata key too, and a value whose key could not be read is left
// out (its own problem says why).
func ConfigProblems(src *GGUFSource, bad []BadValue) []Conflict {
	var out []Conflict
	if src != nil {
		out = append(out, src.unread...)
		out = append(out, src.disagree...)
	}
	for _, p := range bad {
		name := p.Key
		if src != nil {
			if src.Unread(p.Key) {
				continue
			}
			if k := src.Key(p.Key); k != "" {
				name += " (" + k + ")"
			}
		}
		out = append(out, Conflict{Field: p.Key, Message: fmt.Sprintf("%s is %s, want %s", name, p.Got, p.Want)})
	}
	return out
}
