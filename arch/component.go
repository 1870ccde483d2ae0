package arch

import (
	"fmt"
	"sync"
)

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
	// The biases of the q, k and v projections (Qwen2's, gpt-oss's).
	CompAttnQBias Component = "attn_q_bias"
	CompAttnKBias Component = "attn_k_bias"
	CompAttnVBias Component = "attn_v_bias"
	// CompRopeFreqs is llama.cpp's rope_freqs.weight: the head_dim/2
	// frequency factors its converter computes from Llama 3.1's RoPE
	// scaling and stores once, outside the layers.
	CompRopeFreqs Component = "rope_freqs"
	// Gemma's post norms: post_attention_layernorm on the attention's
	// output and post_feedforward_layernorm on the MLP's, each before its
	// residual add (llama.cpp's post_attention_norm, post_ffw_norm).
	CompAttnPostNorm Component = "attn_post_norm"
	CompFFNPostNorm  Component = "ffn_post_norm"
	// Phi-3's fused projections: qkv_proj, q, k and v stacked along the
	// output, and gate_up_proj, the gate's rows then the up projection's.
	CompAttnQKV   Component = "attn_qkv"
	CompMLPGateUp Component = "mlp_gate_up"
	// CompRopeFactorsLong and CompRopeFactorsShort are llama.cpp's
	// rope_factors_long.weight and rope_factors_short.weight: the
	// head_dim/2 LongRoPE factors its converter copies from config.json
	// (Phi-3's rope_scaling long_factor and short_factor), stored once,
	// outside the layers.
	CompRopeFactorsLong  Component = "rope_factors_long"
	CompRopeFactorsShort Component = "rope_factors_short"
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
// here is its [Role.CompIndex]. Families add theirs with
// [DefineComponent].
var (
	compMu     sync.RWMutex
	components = []componentInfo{
		{CompEmbedding, GroupEmbedding}, {CompLMHead, GroupLMHead}, {CompFinalNorm, GroupNorms},
		{CompAttnNorm, GroupNorms}, {CompAttnQ, GroupAttention}, {CompAttnK, GroupAttention},
		{CompAttnV, GroupAttention}, {CompAttnO, GroupAttention}, {CompAttnQNorm, GroupAttention},
		{CompAttnKNorm, GroupAttention}, {CompFFNNorm, GroupNorms}, {CompRouter, GroupRouter},
		{CompExpertGate, GroupExperts}, {CompExpertUp, GroupExperts}, {CompExpertDown, GroupExperts},
		{CompMLPGate, GroupMLP}, {CompMLPUp, GroupMLP}, {CompMLPDown, GroupMLP},
		{CompAttnQBias, GroupAttention}, {CompAttnKBias, GroupAttention}, {CompAttnVBias, GroupAttention},
		{CompRopeFreqs, GroupAttention}, {CompAttnPostNorm, GroupNorms}, {CompFFNPostNorm, GroupNorms},
		{CompAttnQKV, GroupAttention}, {CompMLPGateUp, GroupMLP},
		{CompRopeFactorsLong, GroupAttention}, {CompRopeFactorsShort, GroupAttention},
	}
	compIndex = func() map[Component]uint8 {
		m := make(map[Component]uint8, len(components))
		for i, c := range components {
			m[c.c] = uint8(i)
		}
		return m
	}()
)

type componentInfo struct {
	c Component
	g Group
}

// maxComponents bounds the components: a role numbers them in a byte.
const maxComponents = 256

// DefineComponent adds a component the tensors of a family play (an MLA
// projection, attention sinks) in breakdown group g, and returns it; a
// family calls it from a package-level var. Defining a component again with
// the same group does nothing; with another group, or past 256
// components, it panics: that is a programming error.
func DefineComponent(c Component, g Group) Component {
	compMu.Lock()
	defer compMu.Unlock()
	if i, ok := compIndex[c]; ok {
		if components[i].g != g {
			panic(fmt.Sprintf("arch: component %q defined in groups %v and %v", c, components[i].g, g))
		}
		return c
	}
	if len(components) == maxComponents || int(g) >= NumGroups {
		panic(fmt.Sprintf("arch: cannot define component %q in group %d", c, g))
	}
	compIndex[c] = uint8(len(components))
	components = append(components, componentInfo{c, g})
	return c
}

// numComponents returns the number of components defined.
func numComponents() int {
	compMu.RLock()
	defer compMu.RUnlock()
	return len(components)
}

// lookup returns the index and group of c.
func lookup(c Component) (uint8, Group, bool) {
	compMu.RLock()
	defer compMu.RUnlock()
	i, ok := compIndex[c]
	if !ok {
		return 0, GroupOther, false
	}
	return i, components[i].g, true
}

// Group returns the component's breakdown group; GroupOther for a
// component arch does not list.
func (c Component) Group() Group {
	_, g, _ := lookup(c)
	return g
}

// Expert reports whether the component belongs to the routed experts:
// the three projections arch lists, or a component a family defines in
// GroupExperts (gpt-oss's fused gate_up, the experts' biases).
func (c Component) Expert() bool {
	switch c {
	case CompExpertGate, CompExpertUp, CompExpertDown:
		return true
	}
	return c.Group() == GroupExperts
}

// RoleOf returns the role template of a known tensor of component c and
// shape: Known, with the component's index and group filled in, and Layer,
// Expert and Index left for the caller (-1, -1, 0).
func RoleOf(c Component, shape []int64) Role {
	i, g, ok := lookup(c)
	return Role{Expected: Expected{Shape: shape, Component: c, Layer: -1, Expert: -1}, Known: ok, Group: g, CompIndex: i}
}
