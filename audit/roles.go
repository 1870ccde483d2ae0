package audit

// Role is what the architecture says one stored tensor is.
type Role struct {
	Expected
	Known bool // false for a tensor the architecture does not predict
}

// Assign gives every tensor of inv its role under spec: the expected entry
// of the same name. Tensors the spec does not predict get Known false and
// the layer parsed from their name.
func Assign(spec Spec, inv *Inventory) []Role {
	exp := spec.Expected(inv.Format)
	byName := make(map[string]int, len(exp))
	for i, e := range exp {
		byName[e.Name] = i
	}
	roles := make([]Role, len(inv.Tensors))
	for i, t := range inv.Tensors {
		if j, ok := byName[t.Name]; ok {
			roles[i] = Role{Expected: exp[j], Known: true}
		} else {
			roles[i] = Role{Expected: Expected{Name: t.Name, Layer: t.Layer, Expert: -1}}
		}
	}
	return roles
}

// isExpert reports whether a component belongs to the routed experts.
func isExpert(c Component) bool {
	return c == CompExpertGate || c == CompExpertUp || c == CompExpertDown
}
