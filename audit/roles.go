package audit

// Role is what the architecture says one stored tensor is.
type Role struct {
	Expected
	Known bool // false for a tensor the architecture does not predict
	Index int  // the entry's index in the expected list, -1 when not Known
}

// Assign gives every tensor of inv its role under spec: the expected entry
// of the same name. Tensors the spec does not predict get Known false and
// the layer parsed from their name.
func Assign(spec Spec, inv *Inventory) []Role {
	roles := make([]Role, len(inv.Tensors))
	for i := range inv.Tensors {
		t, r := &inv.Tensors[i], &roles[i]
		var ok bool
		if r.Expected, r.Index, ok = spec.Locate(inv.Format, t.Name); ok {
			r.Known = true
		} else {
			r.Expected, r.Index = Expected{Name: t.Name, Layer: t.Layer, Expert: -1}, -1
		}
	}
	return roles
}

// isExpert reports whether a component belongs to the routed experts.
func isExpert(c Component) bool {
	return c == CompExpertGate || c == CompExpertUp || c == CompExpertDown
}
