package arch

// HarnessResult is the outcome of one bounded proof harness of a family's
// contract: the seed lists Kani harnesses (KANI-QM3E-001, -002); with no
// Kani for Go, a family gives each an exhaustive check of the same
// property over every configuration within a stated bound.
type HarnessResult struct {
	ID         string `json:"id"`         // e.g. "KANI-QM3E-001"
	Obligation string `json:"obligation"` // the obligation it proves, e.g. "QM3E-INV-001"
	Strategy   string `json:"strategy"`   // as the seed names it: "exhaustive", "bounded_int"
	Bound      int    `json:"bound"`      // the seed's bound
	// Domain says what the bound ranges over here: the configurations
	// enumerated, and any condition the property needs.
	Domain  string `json:"domain"`
	Configs int    `json:"configs"` // configurations checked
	Pass    bool   `json:"pass"`
	Detail  string `json:"detail"` // the first counterexample, or what held
}

// Harnessed is implemented by specs whose family has proof harnesses. The
// results are computed once per process and are the same for every spec
// of the family: they prove properties of the family's formulas, not of
// one checkpoint.
type Harnessed interface {
	Harnesses() []HarnessResult
}

// WarmHarnesses starts computing, in the background, the harness results
// of every registered family that has harnesses, so that an audit finds
// them ready: they take a fraction of a second, which loading the
// checkpoint's headers can hide.
func WarmHarnesses() {
	for _, f := range Families() {
		if f.Harnesses != nil {
			go f.Harnesses()
		}
	}
}
