package arch

import (
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// Spec is one architecture's prediction of a checkpoint: its plain
// dimensions, which tensors it holds in each format, and how many
// parameters they add up to. The checks see only this interface and the
// optional capabilities below ([Assigner], [Coster], [BlockWalker],
// [Forwarder], [LayerForwarder], [Contract], [Recognizer], [ConfigComparer],
// [ConfigChecker], [GGUFWriter]); a check whose capability a spec lacks
// is reported as not applicable, never answered with another family's
// numbers.
type Spec interface {
	// Family names the architecture family, as registered.
	Family() string
	// Config returns the family's configuration as config.json gives it,
	// for reports and the synthesizer to encode as JSON.
	Config() any
	// Dims returns the plain dimensions every family has.
	Dims() Dims
	// Expected lists the tensors of a checkpoint in format f, in stored
	// order.
	Expected(f checkpoint.Format) []Expected
	// Locate returns the expected entry called name in format f, and its
	// index in Expected(f), without building that list; false when the
	// architecture predicts no such tensor.
	Locate(f checkpoint.Format, name string) (e Expected, index int, ok bool)
	// Count returns len(Expected(f)).
	Count(f checkpoint.Format) int
	// Predict counts the parameters from the dimensions alone.
	Predict() Prediction
}

// Dims are the dimensions every decoder family has, as plain numbers.
type Dims struct {
	Vocab   int64 // vocabulary size: embedding rows and logits
	Hidden  int64 // residual stream width d
	Layers  int64 // decoder layers L
	Heads   int64 // query heads n_h
	KVHeads int64 // key/value heads n_kv
	HeadDim int64 // d_k
	// Experts and ExpertsUsed are the routed experts of a MoE layer and
	// those one token passes through (top-k); both 0 for a dense model.
	Experts, ExpertsUsed int64
	// TiedEmbeddings says the lm_head is the embedding table.
	TiedEmbeddings bool
}

// Expected is one tensor an architecture predicts.
type Expected struct {
	Name      string
	Shape     []int64 // in the format's own order: outermost first for safetensors, ne order for GGUF
	Layer     int     // -1 outside the decoder layers
	Component Component
	Expert    int // -1 unless the tensor belongs to one expert
	// Part says what the tensor's elements are: parameters of the model
	// (the zero value), of a multi-token-prediction layer, or no
	// parameters at all. Every part is expected and checked alike; only
	// the model's part is in the parameter counts.
	Part Part
	// Values is how many values each stored element packs: 2 for
	// MXFP4's pairs of FP4 values in a byte (gpt-oss's *_blocks), 8 for
	// GPTQ's and AWQ's int4 in an int32, 0 or 1 for one. The counts
	// multiply the stored elements by it; Packing says along which
	// dimension they are packed.
	Values  uint8
	Packing Packing
}

// Packing says how a packed tensor's stored shape maps back to the
// logical shape [out, in] of the weight it holds, for the shape walks.
type Packing uint8

// The packings.
const (
	PackNone  Packing = iota
	PackGPTQ          // qweight [in/v, out]
	PackAWQ           // qweight [in, out/v]
	PackMXFP4         // blocks [..., out, in/32, 16], two values a byte
)

// Unpacked returns the logical shape of a tensor stored with shape
// stored as e says: [out, in] for GPTQ and AWQ, [..., out, in] for MXFP4
// blocks; stored itself when e packs nothing or stored does not have the
// rank the packing needs.
func (e *Expected) Unpacked(stored []int64) []int64 {
	v := int64(max(e.Values, 1))
	switch n := len(stored); {
	case e.Packing == PackGPTQ && n == 2:
		return []int64{stored[1], stored[0] * v}
	case e.Packing == PackAWQ && n == 2:
		return []int64{stored[1] * v, stored[0]}
	case e.Packing == PackMXFP4 && n >= 2:
		return append(stored[:n-2:n-2], stored[n-2]*stored[n-1]*v)
	}
	return stored
}

// Part classes the elements of a tensor for the counts.
type Part uint8

const (
	// PartModel: parameters of the model proper, the ones its published
	// total counts.
	PartModel Part = iota
	// PartMTP: parameters of a multi-token-prediction layer
	// (DeepSeek-V3's num_nextn_predict_layers), which a checkpoint ships
	// but plain next-token inference does not run; counted apart.
	PartMTP
	// PartCompanion: no trained parameters: what a converter adds
	// (llama.cpp's rope_freqs) or the companion of a quantized weight
	// (FP8 block scales, zero points). Its elements are counted apart.
	PartCompanion
	// PartVision: parameters of a vision tower and its projector, which
	// a multimodal checkpoint (Gemma3ForConditionalGeneration) ships
	// beside its language model; counted apart.
	PartVision
)

// String names the part as reports do: "model", "mtp", "companion",
// "vision".
func (p Part) String() string {
	switch p {
	case PartMTP:
		return "mtp"
	case PartCompanion:
		return "companion"
	case PartVision:
		return "vision"
	}
	return "model"
}

// Role is what the architecture says one stored tensor is.
type Role struct {
	Expected
	Known     bool  // false for a tensor the architecture does not predict
	Group     Group // the component's breakdown group; GroupOther when not Known
	CompIndex uint8 // the component's index among arch's components, when Known
	Index     int   // the entry's index in the expected list, -1 when not Known
}

// Prediction is what an architecture predicts about a checkpoint's size:
// the parameters of every component, in total and per token.
type Prediction struct {
	// Total counts every parameter, all experts included (the seed's
	// model_parameter_count).
	Total int64
	// Active counts the parameters one token passes through: the routed
	// experts only (the seed's active_parameter_count). Embedding and
	// lm_head are counted in full, as the seed's formula does.
	Active int64
	// MTP counts the parameters of the multi-token-prediction layers and
	// Companions the elements of the tensors that hold none (quantization
	// scales): both apart from Total ([Part]).
	MTP, Companions int64
	// Vision counts the parameters of a vision tower and its projector
	// ([PartVision]), apart from Total.
	Vision int64
	// Components sums the parameters per component over the whole model.
	Components map[Component]int64
	// Layers gives each decoder layer's total and active parameters.
	Layers []LayerPrediction
}

// LayerPrediction is one decoder layer's share of a [Prediction].
type LayerPrediction struct {
	Layer  int
	Total  int64
	Active int64
}

// Assigner is implemented by specs that fill a role in place: on a
// checkpoint of tens of thousands of tensors that spares two copies of the
// entry per tensor over [Spec.Locate].
type Assigner interface {
	// Assign fills r with the role of the tensor called name in format f,
	// or reports false and leaves r alone.
	Assign(f checkpoint.Format, name string, r *Role) bool
}

// Assign gives every tensor of inv its role under spec: the expected entry
// of the same name. Tensors the spec does not predict get Known false,
// GroupOther and the layer parsed from their name.
func Assign(spec Spec, inv *checkpoint.Inventory) []Role {
	roles := make([]Role, len(inv.Tensors))
	fast, _ := spec.(Assigner)
	for i := range inv.Tensors {
		t, r := &inv.Tensors[i], &roles[i]
		if fast != nil {
			if fast.Assign(inv.Format, t.Name, r) {
				continue
			}
		} else if e, idx, ok := spec.Locate(inv.Format, t.Name); ok {
			*r = RoleOf(e.Component, e.Shape)
			r.Expected, r.Index = e, idx
			continue
		}
		*r = Role{Expected: Expected{Name: t.Name, Layer: t.Layer, Expert: -1}, Group: GroupOther, Index: -1}
	}
	return roles
}

// KVRows is one part of a KV cache: Rows vectors of Width elements stored
// per token position, for every position (Window 0) or the last Window.
// Half the rows are keys and half values (llama.cpp's cache_k and
// cache_v, each with a type of its own), unless KeysOnly.
type KVRows struct {
	Rows, Width, Window int64
	// KeysOnly says every row is a key row and no value rows are stored:
	// multi-head latent attention, whose values llama.cpp reads as a
	// view of the cached keys (llama-kv-cache.cpp: has_v = !is_mla).
	KeysOnly bool
}

// Coster gives the cost terms that depend on the attention design.
type Coster interface {
	// KVCache lists what the KV cache stores per token position.
	KVCache() []KVRows
	// AttentionFLOPs returns the FLOPs per token of attending to ctx
	// positions (the scores and the weighted sum), beyond the 2·A of the
	// weights.
	AttentionFLOPs(ctx int64) int64
}

// BlockWalker follows the activation shape [seq, d] through one decoder
// block from its weights' shapes (the contract's block shape
// preservation).
type BlockWalker interface {
	// WalkBlock walks [seq, d] (d the embedding's width) through
	// layer's tensors b, recording problems on w, and reports whether
	// the block maps [seq, d] to [seq, d].
	WalkBlock(w *Walk, b *Block, layer int, d int64) bool
}

// Forwarder wires the spot-check's block kernels to a family.
type Forwarder interface {
	// Forward returns the configuration of the forward pass over a
	// checkpoint in format f (Jobs left 0 for the caller to set).
	Forward(f checkpoint.Format) forward.Config
	// Sparse reports whether layer routes to experts rather than a
	// dense MLP.
	Sparse(layer int) bool
	// NormEps is the epsilon of the final RMSNorm.
	NormEps() float64
}

// LayerForwarder is implemented by a [Forwarder] whose layers differ in
// their forward configuration (Qwen2's sliding layers, Gemma 3's local
// and global ones): the spot-check runs each layer with LayerForward's
// configuration instead of Forward's, and takes what belongs to the model
// (the embedding scale, the final norm and soft cap) from Forward's.
type LayerForwarder interface {
	// LayerForward returns the configuration of layer's block over a
	// checkpoint in format f (Jobs left 0 for the caller to set).
	LayerForward(f checkpoint.Format, layer int) forward.Config
}

// Contract gives a family's obligation ids. A spec without it gets the
// ids [DefaultObligations] derives from its family name.
type Contract interface {
	Obligations() Obligations
}

// Obligations are the ids of the seed's seven falsification tests and QA
// gate for one family: for Qwen3-MoE FALSIFY-QM3E-001 … -007 and
// F-QM3E-001.
type Obligations struct {
	Gate string
	// Total, Active, FLOPs, Memory, Roofline, Blocks and EndToEnd are
	// the ids of obligations 1 to 7.
	Total, Active, FLOPs, Memory, Roofline, Blocks, EndToEnd string
}

// List returns the seven obligation ids in order.
func (o Obligations) List() []string {
	return []string{o.Total, o.Active, o.FLOPs, o.Memory, o.Roofline, o.Blocks, o.EndToEnd}
}

// NewObligations returns the ids FALSIFY-<tag>-001 … -007 and gate
// F-<tag>-001.
func NewObligations(tag string) Obligations {
	id := func(n int) string { return "FALSIFY-" + tag + "-00" + string(rune('0'+n)) }
	return Obligations{Gate: "F-" + tag + "-001", Total: id(1), Active: id(2), FLOPs: id(3), Memory: id(4),
		Roofline: id(5), Blocks: id(6), EndToEnd: id(7)}
}

// ObligationsOf returns spec's obligation ids: its [Contract]'s, or those
// [NewObligations] makes of the family name in upper case.
func ObligationsOf(spec Spec) Obligations {
	if c, ok := spec.(Contract); ok {
		return c.Obligations()
	}
	return NewObligations(strings.ToUpper(spec.Family()))
}

// Recognizer matches a checkpoint against the published models a family
// knows.
type Recognizer interface {
	// Recognize matches the spec and the size label found in names (a
	// GGUF general.name, a repository id, file names) against the
	// family's profiles.
	Recognize(names ...string) Recognition
}

// GGUFWriter writes a family's metadata keys, for synthesized GGUF
// layouts, from the same table the family reads them with.
type GGUFWriter interface {
	// GGUFArch returns the general.architecture the spec is written as.
	GGUFArch() string
	// GGUFMetadata returns the "<arch>." keys of the spec.
	GGUFMetadata() []gguf.KV
}

// ConfigComparer compares a spec read from config.json with one read from
// GGUF metadata of the same family.
type ConfigComparer interface {
	// CompareConfig lists each field the GGUF metadata carries on which
	// fromGGUF disagrees with the receiver.
	CompareConfig(fromGGUF Spec) []Conflict
}

// ConfigChecker is implemented by specs that know configuration values a
// model cannot run with although its tensors can still be listed and
// counted: a RoPE base or a norm epsilon that is negative or not finite, a
// context length below 1. A value that prevents counting is an error of
// the family's constructor (wrapping [ErrConfig]) instead.
type ConfigChecker interface {
	// ConfigProblems lists each such value, Field naming the config.json
	// key (the GGUF key is in the message of a spec read from GGUF
	// metadata); none for a sound configuration.
	ConfigProblems() []Conflict
}

// Complete is a spec with every optional capability but [Forwarder],
// whose kernels compute one family's block: what a family asserts at
// compile time (var _ arch.Complete = (*Spec)(nil)) when it gives them
// all.
type Complete interface {
	Spec
	Assigner
	Coster
	BlockWalker
	Contract
	Recognizer
	ConfigComparer
	ConfigChecker
	GGUFWriter
}
