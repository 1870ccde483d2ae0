package archtest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// CheckTable checks the tensor table of spec in format f against its
// expected list: the names are distinct and not empty, Count is their
// number, and Locate and Assign (the spec must be an [arch.Assigner]) give
// each name its own entry and index, Assign with its group. Locate and
// Assign must refuse each of bad that the list does not hold, Assign
// leaving its role alone.
func CheckTable(tb testing.TB, spec arch.Spec, f checkpoint.Format, bad ...string) {
	tb.Helper()
	exp := spec.Expected(f)
	if spec.Count(f) != len(exp) {
		tb.Errorf("%s: Count = %d, len(Expected) = %d", f, spec.Count(f), len(exp))
	}
	a := spec.(arch.Assigner)
	seen := make(map[string]bool, len(exp))
	for i, want := range exp {
		if want.Name == "" || seen[want.Name] {
			tb.Fatalf("%s: entry %d is %q (empty or repeated)", f, i, want.Name)
		}
		seen[want.Name] = true
		got, idx, ok := spec.Locate(f, want.Name)
		if !ok || idx != i || !SameEntry(got, want) {
			tb.Fatalf("%s: Locate(%q) = %+v, %d, %v; want %+v, %d", f, want.Name, got, idx, ok, want, i)
		}
		var r arch.Role
		if !a.Assign(f, want.Name, &r) || !r.Known || r.Index != i || !SameEntry(r.Expected, want) || r.Group != want.Component.Group() {
			tb.Fatalf("%s: Assign(%q) = %+v; want %+v at %d", f, want.Name, r, want, i)
		}
	}
	for _, n := range bad {
		if seen[n] {
			continue
		}
		if e, _, ok := spec.Locate(f, n); ok {
			tb.Errorf("%s: Locate(%q) = %+v, want not found", f, n, e)
		}
		r := arch.Role{Index: 7}
		if a.Assign(f, n, &r) || r.Index != 7 {
			tb.Errorf("%s: Assign(%q) = %+v, want false and r left alone", f, n, r)
		}
	}
}

// SameEntry reports whether a and b are the same expected tensor: name,
// shape, layer, component, expert and part.
func SameEntry(a, b arch.Expected) bool {
	return a.Name == b.Name && slices.Equal(a.Shape, b.Shape) && a.Layer == b.Layer && a.Component == b.Component &&
		a.Expert == b.Expert && a.Part == b.Part
}

// values returns the values the tensor e holds: its elements times the
// values each packs ([arch.Expected.Values]).
func values(e *arch.Expected) int64 {
	n := int64(max(e.Values, 1))
	for _, x := range e.Shape {
		n *= x
	}
	return n
}

// Parts returns the values the expected tensors of spec in format f hold,
// by [arch.Part].
func Parts(spec arch.Spec, f checkpoint.Format) [3]int64 {
	var parts [3]int64
	exp := spec.Expected(f)
	for i := range exp {
		parts[exp[i].Part] += values(&exp[i])
	}
	return parts
}

// CheckPrediction compares the expected tensors of spec in format f with
// its prediction, two derivations from the same config: the model's part
// of the list ([arch.PartModel]) must add up to the prediction's total,
// to each of its components (and no other) and to each layer's total;
// and, one token passing through ExpertsUsed of a layer's Experts
// ([arch.Dims]), to each layer's active count and the active total. What
// the list holds apart (multi-token-prediction layers, companions) is the
// family's to check, as are the sums of a format that splits or fuses a
// component the prediction counts whole (DeepSeek's kv_b in GGUF).
func CheckPrediction(spec arch.Spec, f checkpoint.Format) error {
	p, dims := spec.Predict(), spec.Dims()
	var total, active int64
	comps := map[arch.Component]int64{}
	layers := make([]arch.LayerPrediction, len(p.Layers))
	experts := make([]int64, len(p.Layers)) // the routed experts' values, by layer
	exp := spec.Expected(f)
	for i := range exp {
		e := &exp[i]
		if e.Part != arch.PartModel {
			continue
		}
		n := values(e)
		total += n
		comps[e.Component] += n
		switch {
		case e.Layer >= len(layers):
			return fmt.Errorf("%s: %s is in layer %d, the prediction has %d", f, e.Name, e.Layer, len(layers))
		case e.Layer < 0:
			active += n
		case e.Component.Expert() && dims.Experts > 0:
			experts[e.Layer] += n
		default:
			layers[e.Layer].Total += n
			layers[e.Layer].Active += n
		}
	}
	for i := range layers {
		layers[i].Layer = i
		layers[i].Total += experts[i]
		if dims.Experts > 0 {
			layers[i].Active += experts[i] / dims.Experts * dims.ExpertsUsed
		}
		active += layers[i].Active
	}
	if total != p.Total || active != p.Active {
		return fmt.Errorf("%s: the table holds %d (active %d), the prediction says %d (active %d)", f, total, active, p.Total, p.Active)
	}
	for c, n := range p.Components {
		if comps[c] != n {
			return fmt.Errorf("%s: %s: the table holds %d, the prediction says %d", f, c, comps[c], n)
		}
	}
	if len(comps) != len(p.Components) {
		return fmt.Errorf("%s: the table has components %v, the prediction %v", f, comps, p.Components)
	}
	for i, lp := range p.Layers {
		if lp != layers[i] {
			return fmt.Errorf("%s: layer %d: the table holds %+v, the prediction says %+v", f, i, layers[i], lp)
		}
	}
	return nil
}

// CheckPredictions is [CheckPrediction] in each of [Formats].
func CheckPredictions(spec arch.Spec) error {
	for _, f := range Formats {
		if err := CheckPrediction(spec, f); err != nil {
			return err
		}
	}
	return nil
}
