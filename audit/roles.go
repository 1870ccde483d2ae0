package audit

// Role is what the architecture says one stored tensor is.
type Role struct {
	Expected
	Known bool // false for a tensor the architecture does not predict
	Index int  // the entry's index in the expected list, -1 when not Known
}

// Assign gives every tensor of inv its role among exp (a spec's
// Expected(inv.Format)): the entry of the same name. Tensors the spec does
// not predict get Known false and the layer parsed from their name.
func Assign(exp []Expected, inv *Inventory) []Role {
	byName := make(map[string]int, len(exp))
	for i := range exp {
		byName[exp[i].Name] = i
	}
	roles := make([]Role, len(inv.Tensors))
	for i := range inv.Tensors {
		t := &inv.Tensors[i]
		if j, ok := byName[t.Name]; ok {
			roles[i] = Role{Expected: exp[j], Known: true, Index: j}
		} else {
			roles[i] = Role{Expected: Expected{Name: t.Name, Layer: t.Layer, Expert: -1}, Index: -1}
		}
	}
	return roles
}

// isExpert reports whether a component belongs to the routed experts.
func isExpert(c Component) bool {
	return c == CompExpertGate || c == CompExpertUp || c == CompExpertDown
}
