package arch_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// toySpec is a family's spec on a Core, as the families write it.
type toySpec struct {
	arch.Core[toy]
}

func (s *toySpec) Dims() arch.Dims          { return arch.Dims{Hidden: s.Cfg().Hidden} }
func (s *toySpec) Predict() arch.Prediction { return arch.Prediction{} }

func newToy(c *toy) *toySpec {
	return &toySpec{arch.NewCore("toy", c, func(f checkpoint.Format) arch.TableSpec {
		return arch.TableSpec{Format: f, After: []arch.Slot{{Name: "norm.weight", Comp: arch.CompFinalNorm, Shape: []int64{c.Hidden}}}}
	})}
}

type otherSpec struct{ *toySpec }

func (otherSpec) Family() string { return "other" }

// A Core gives the spec its family, its config and its table, and keeps
// the GGUF source; CompareConfig compares the fields of two specs of the
// family and refuses to compare another family's; Recognize names the
// profile by the dimensions or the label.
func TestCore(t *testing.T) {
	c := &toy{Hidden: 32, KVHeads: 2, Eps: 1e-6}
	s := newToy(c)
	var _ arch.Spec = s
	if s.Family() != "toy" || s.Config() != any(c) || s.Cfg() != c || s.Source() != nil || s.Count(checkpoint.FormatGGUF) != 1 {
		t.Errorf("family %q, config %v, source %v, count %d", s.Family(), s.Config(), s.Source(), s.Count(checkpoint.FormatGGUF))
	}
	src := &arch.GGUFSource{}
	g := newToy(&toy{Hidden: 32, KVHeads: 2, Eps: 1e-5})
	arch.Keep(g, src)
	if g.Source() != src {
		t.Errorf("Keep: source %v, want %v", g.Source(), src)
	}
	if got := arch.CompareConfig(toyFields, s, g); len(got) != 1 || got[0].Field != "rms_norm_eps" {
		t.Errorf("CompareConfig(same family) = %+v, want rms_norm_eps", got)
	}
	if got := arch.CompareConfig(toyFields, s, otherSpec{g}); len(got) != 1 || got[0].Field != "model_type" ||
		got[0].Message != "config.json describes toy, the GGUF metadata other" {
		t.Errorf("CompareConfig(other family) = %+v, want one model_type conflict", got)
	}
	ps := []arch.Published[toy]{
		{Profile: arch.Profile{Name: "Toy-1B", Label: "1B"}, Config: &toy{Hidden: 32, KVHeads: 2}},
		{Profile: arch.Profile{Name: "Toy-8B", Label: "8B"}, Config: &toy{Hidden: 64, KVHeads: 2}},
	}
	if r := arch.Recognize(toyFields, c, "", "", ps); r.Profile == nil || r.Profile.Name != "Toy-1B" || len(r.Conflicts) != 0 {
		t.Errorf("Recognize by dimensions = %+v, want Toy-1B", r)
	}
	if r := arch.Recognize(toyFields, &toy{Hidden: 48, KVHeads: 2}, "8b", "toy-8b", ps); r.Profile == nil || r.Profile.Name != "Toy-8B" ||
		len(r.Conflicts) != 1 || r.Conflicts[0].Field != "hidden_size" {
		t.Errorf("Recognize by label = %+v, want Toy-8B with a hidden_size conflict", r)
	}
}
