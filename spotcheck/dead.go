package spotcheck

//go:generate go run golang.org/x/tools/cmd/stringer@v0.38.0 -type=DeadKind -linecomment

import (
	"fmt"
	"math"
	"slices"
)

// DeadKind says how a spot-check saw a dead block: weights that run
// without error but compute nothing.
type DeadKind int

// The kinds of [Dead].
const (
	// DeadEmbedding: the embedding rows of some tokens are all zero, so
	// the block starts from nothing.
	DeadEmbedding DeadKind = iota + 1 // embedding-zero
	// DeadNonFinite: an output row holds a NaN or an infinity.
	DeadNonFinite // non-finite
	// DeadZero: an output row is all zero.
	DeadZero // zero
	// DeadConstant: every element of an output row is the same (and not
	// zero).
	DeadConstant // constant
	// DeadSameRows: every token's output row is the same although the
	// tokens' embedding rows differ.
	DeadSameRows // same-rows
	// DeadPassThrough: a layer's output equals its input: its attention and
	// feed-forward add nothing (their weights are zero).
	DeadPassThrough // pass-through
	// DeadRouterTied: a layer's router gives every expert the same logit
	// (its weights are zero or constant), so the choice of experts says
	// nothing.
	DeadRouterTied // router-tied
)

// MarshalText returns the kind's name, as in the JSON of a [Result].
func (k DeadKind) MarshalText() ([]byte, error) {
	if k < DeadEmbedding || k > DeadRouterTied {
		return nil, fmt.Errorf("spotcheck: no dead kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText parses a name [DeadKind.MarshalText] gives.
func (k *DeadKind) UnmarshalText(b []byte) error {
	for c := DeadEmbedding; c <= DeadRouterTied; c++ {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("spotcheck: unknown dead kind %q", b)
}

// Dead is one sign that a spot-checked block is dead.
type Dead struct {
	// Kind says what was seen.
	Kind DeadKind `json:"kind"`
	// Layer is the decoder layer concerned: the layer whose router or
	// residual was seen (DeadRouterTied, DeadPassThrough), or the layer
	// whose output was seen (DeadNonFinite, DeadZero, DeadConstant,
	// DeadSameRows), -1 when that output is the logits of a full
	// forward pass. It is -1 for DeadEmbedding.
	Layer int `json:"layer"`
	// Tokens are the ids of the tokens concerned, in the order of their
	// first position; empty for DeadSameRows and DeadPassThrough, which
	// concern all of them.
	Tokens []int `json:"tokens,omitempty"`
}

// String returns one sentence saying what was seen, where.
func (d Dead) String() string {
	out, is, holds := fmt.Sprintf("the output of layer %d", d.Layer), "is", "holds"
	if d.Layer < 0 {
		out, is, holds = "the logits", "are", "hold"
	}
	switch d.Kind {
	case DeadEmbedding:
		return fmt.Sprintf("the embedding rows of %s are all zero", tokensOf(d.Tokens))
	case DeadNonFinite:
		return fmt.Sprintf("%s %s NaN or Inf for %s", out, holds, tokensOf(d.Tokens))
	case DeadZero:
		return fmt.Sprintf("%s %s all zero for %s", out, is, tokensOf(d.Tokens))
	case DeadConstant:
		return fmt.Sprintf("%s %s constant (every element of a row the same) for %s", out, is, tokensOf(d.Tokens))
	case DeadSameRows:
		return fmt.Sprintf("%s %s the same for every token although their embedding rows differ", out, is)
	case DeadPassThrough:
		return fmt.Sprintf("layer %d passes its input through unchanged: its attention and feed-forward add nothing (zero weights)", d.Layer)
	case DeadRouterTied:
		return fmt.Sprintf("the router logits of layer %d are all equal for %s: every expert is tied (the router weights are zero or constant)", d.Layer, tokensOf(d.Tokens))
	}
	return fmt.Sprintf("%v at layer %d for tokens %v", d.Kind, d.Layer, d.Tokens)
}

func tokensOf(ids []int) string {
	if len(ids) == 1 {
		return fmt.Sprintf("token %d", ids[0])
	}
	return fmt.Sprintf("tokens %v", ids)
}

// DeadTolerance is the relative tolerance under which the dead-block checks
// count values as equal: two rows are the same, or the elements of a row
// (the router logits of a token, an output row) all equal, when they differ
// by at most DeadTolerance times the largest magnitude among them. It is
// about eight float32 units in the last place, so it absorbs a different
// rounding of the same value while any trained (or random) weights give
// differences orders of magnitude larger. Zero is compared exactly: a row
// is all zero only when every element is 0.
const DeadTolerance = 1e-6

// deadCheck collects the signs of a dead block as [Run] computes.
type deadCheck struct {
	tokens []int     // the token id of each position
	in     []float32 // the embedding rows [n, d]
	d      int
	dead   []Dead
}

// add records a sign for the positions pos, naming each token id once.
func (c *deadCheck) add(kind DeadKind, layer int, pos []int) {
	d := Dead{Kind: kind, Layer: layer}
	for _, p := range pos {
		if !slices.Contains(d.Tokens, c.tokens[p]) {
			d.Tokens = append(d.Tokens, c.tokens[p])
		}
	}
	c.dead = append(c.dead, d)
}

// embedding checks the input rows x [n, d], and keeps them for
// [deadCheck.output].
func (c *deadCheck) embedding(x []float32, d int) {
	c.in, c.d = x, d
	var zero []int
	for t := range c.tokens {
		if allZero(x[t*d : (t+1)*d]) {
			zero = append(zero, t)
		}
	}
	if len(zero) > 0 {
		c.add(DeadEmbedding, -1, zero)
	}
}

// router checks a routed layer's logits, per token over all experts.
func (c *deadCheck) router(layer int, logits [][]float32) {
	var tied []int
	for t, l := range logits {
		if len(l) > 1 && allEqual(l) {
			tied = append(tied, t)
		}
	}
	if len(tied) > 0 {
		c.add(DeadRouterTied, layer, tied)
	}
}

// passThrough checks whether layer returned its input x unchanged as y.
// An input that is all zero is left to the output checks.
func (c *deadCheck) passThrough(layer int, x, y []float32) {
	if !allZero(x) && rowsEqual(x, y) {
		c.add(DeadPassThrough, layer, nil)
	}
}

// output checks the final output y [n, width] of layer (-1 for the
// logits), and for DeadSameRows the embedding rows.
func (c *deadCheck) output(layer int, y []float32, width int) {
	n, x, d := len(c.tokens), c.in, c.d
	var nonFinite, zero, constant []int
	live := 0 // rows neither non-finite nor zero
	for t := 0; t < n; t++ {
		row := y[t*width : (t+1)*width]
		switch {
		case !finite(row):
			nonFinite = append(nonFinite, t)
		case allZero(row):
			zero = append(zero, t)
		default:
			live++
			if width > 1 && allEqual(row) {
				constant = append(constant, t)
			}
		}
	}
	for _, s := range []struct {
		kind DeadKind
		pos  []int
	}{{DeadNonFinite, nonFinite}, {DeadZero, zero}, {DeadConstant, constant}} {
		if len(s.pos) > 0 {
			c.add(s.kind, layer, s.pos)
		}
	}
	if n < 2 || live != n {
		return
	}
	inputsDiffer, same := false, true
	for t := 1; t < n; t++ {
		inputsDiffer = inputsDiffer || !rowsEqual(x[:d], x[t*d:(t+1)*d])
		same = same && rowsEqual(y[:width], y[t*width:(t+1)*width])
	}
	if inputsDiffer && same {
		c.add(DeadSameRows, layer, nil)
	}
}

func finite(xs []float32) bool {
	for _, v := range xs {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

func allZero(xs []float32) bool {
	for _, v := range xs {
		if v != 0 {
			return false
		}
	}
	return true
}

// allEqual reports whether the finite values xs all equal within
// [DeadTolerance] of their largest magnitude.
func allEqual(xs []float32) bool {
	lo, hi, scale := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range xs {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		lo, hi, scale = math.Min(lo, f), math.Max(hi, f), math.Max(scale, math.Abs(f))
	}
	return hi-lo <= DeadTolerance*scale
}

// rowsEqual reports whether the finite rows a and b (of one length) agree
// within [DeadTolerance] of their largest magnitude.
func rowsEqual(a, b []float32) bool {
	var diff, scale float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			return false
		}
		diff = math.Max(diff, math.Abs(x-y))
		scale = math.Max(scale, math.Max(math.Abs(x), math.Abs(y)))
	}
	return diff <= DeadTolerance*scale
}
