package arch

// Component is the role a tensor plays in the architecture: the same names
// for every family and both formats, so that tallies, cost terms and
// reports can group them.
type Component string

// The components of a decoder. A family uses those it has.
const (
	CompEmbedding  Component = "embedding"
	CompLMHead     Component = "lm_head"
	CompFinalNorm  Component = "final_norm"
	CompAttnNorm   Component = "attn_norm"
	CompAttnQ      Component = "attn_q"
	CompAttnK      Component = "attn_k"
	CompAttnV      Component = "attn_v"
	CompAttnO      Component = "attn_o"
	CompAttnQNorm  Component = "attn_q_norm"
	CompAttnKNorm  Component = "attn_k_norm"
	CompFFNNorm    Component = "ffn_norm"
	CompRouter     Component = "router"
	CompExpertGate Component = "expert_gate"
	CompExpertUp   Component = "expert_up"
	CompExpertDown Component = "expert_down"
	CompMLPGate    Component = "mlp_gate"
	CompMLPUp      Component = "mlp_up"
	CompMLPDown    Component = "mlp_down"
)

// Group is a breakdown group of components, as reports tally them.
type Group uint8

// The groups, in report order. GroupOther holds the tensors a spec does not
// predict.
const (
	GroupEmbedding Group = iota
	GroupLMHead
	GroupAttention
	GroupRouter
	GroupExperts
	GroupMLP
	GroupNorms
	GroupOther
	NumGroups = int(GroupOther) + 1
)

var groupNames = [NumGroups]string{"embedding", "lm_head", "attention", "router", "experts", "mlp", "norms", "other"}

// String returns the group's name in reports: "embedding", "attention", ….
func (g Group) String() string {
	if int(g) < NumGroups {
		return groupNames[g]
	}
	return "other"
}

// components lists every component with its group; a component's index
// here is its [Role.CompIndex].
var components = [...]struct {
	c Component
	g Group
}{
	{CompEmbedding, GroupEmbedding}, {CompLMHead, GroupLMHead}, {CompFinalNorm, GroupNorms},
	{CompAttnNorm, GroupNorms}, {CompAttnQ, GroupAttention}, {CompAttnK, GroupAttention},
	{CompAttnV, GroupAttention}, {CompAttnO, GroupAttention}, {CompAttnQNorm, GroupAttention},
	{CompAttnKNorm, GroupAttention}, {CompFFNNorm, GroupNorms}, {CompRouter, GroupRouter},
	{CompExpertGate, GroupExperts}, {CompExpertUp, GroupExperts}, {CompExpertDown, GroupExperts},
	{CompMLPGate, GroupMLP}, {CompMLPUp, GroupMLP}, {CompMLPDown, GroupMLP},
}

// NumComponents is the number of components; [Role.CompIndex] is below it.
const NumComponents = len(components)

var compIndex = func() map[Component]uint8 {
	m := make(map[Component]uint8, len(components))
	for i, c := range components {
		m[c.c] = uint8(i)
	}
	return m
}()

// Group returns the component's breakdown group; GroupOther for a
// component arch does not list.
func (c Component) Group() Group {
	if i, ok := compIndex[c]; ok {
		return components[i].g
	}
	return GroupOther
}

// Expert reports whether the component belongs to the routed experts.
func (c Component) Expert() bool {
	return c == CompExpertGate || c == CompExpertUp || c == CompExpertDown
}

// RoleOf returns the role template of a known tensor of component c and
// shape: Known, with the component's index and group filled in, and Layer,
// Expert and Index left for the caller (-1, -1, 0).
func RoleOf(c Component, shape []int64) Role {
	i, ok := compIndex[c]
	g := GroupOther
	if ok {
		g = components[i].g
	}
	return Role{Expected: Expected{Shape: shape, Component: c, Layer: -1, Expert: -1}, Known: ok, Group: g, CompIndex: i}
}
