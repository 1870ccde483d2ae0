package arch

import "github.com/weightaudit/weightaudit/checkpoint"

// Unknown is the spec of a checkpoint whose architecture no registered
// family knows: it predicts nothing, so only the checks of the formats
// themselves apply, and every check of the architecture is reported as not
// checked, with why. An audit never refuses such a checkpoint.
type Unknown struct {
	// Why says why the architecture was not checked: the model_type or
	// general.architecture and that no family knows it.
	Why string
}

// Compile-time checks.
var (
	_ Spec      = (*Unknown)(nil)
	_ Unchecked = (*Unknown)(nil)
)

// Unchecked is implemented by specs that stand for an architecture the
// audit cannot check.
type Unchecked interface {
	// Unchecked says why the architecture was not checked.
	Unchecked() string
}

// Unchecked returns Why.
func (u *Unknown) Unchecked() string { return u.Why }

// Family returns "unknown".
func (u *Unknown) Family() string { return "unknown" }

// Config returns nil: no family reads the config.
func (u *Unknown) Config() any { return nil }

// Dims returns zero dimensions.
func (u *Unknown) Dims() Dims { return Dims{} }

// Expected returns no tensor.
func (u *Unknown) Expected(checkpoint.Format) []Expected { return nil }

// Locate finds no tensor.
func (u *Unknown) Locate(checkpoint.Format, string) (Expected, int, bool) {
	return Expected{}, 0, false
}

// Count returns 0.
func (u *Unknown) Count(checkpoint.Format) int { return 0 }

// Predict returns the zero prediction.
func (u *Unknown) Predict() Prediction { return Prediction{Components: map[Component]int64{}} }
