package arch

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// A family's tensor table, declared once per format as a [TableSpec] and
// served by a [Table]: the same slots list the expected tensors and turn
// a stored name back into its role, so the two cannot disagree.

// Slot is one tensor of a [TableSpec].
type Slot struct {
	// Name is the tensor's name in the table's format: after the layer
	// prefix ("model.layers.N." or "blk.N.") for a layer's slot, after
	// the expert prefix too for a per-expert one, whole outside the
	// layers.
	Name  string
	Comp  Component
	Shape []int64 // logical, outermost first; the table puts it in the format's order
	Part  Part
	// Expert marks a slot that repeats once per routed expert, under
	// TableSpec.ExpertPrefix + "E.", in the layer's expert block (a
	// stacked tensor holding every expert is a plain slot).
	Expert bool
	// Quantized marks a linear weight "….weight" of logical shape
	// [out, in] that a quantized checkpoint stores as TableSpec.Quant
	// says, with its companions.
	Quantized bool
	// Values and Packing are [Expected.Values] and [Expected.Packing]:
	// the values each stored element packs, and along which dimension.
	Values  uint8
	Packing Packing
}

// TableSpec declares the tensors of one format.
type TableSpec struct {
	Format checkpoint.Format
	// LayerPrefix names the layers: "model.layers." in Hugging Face
	// checkpoints and "blk." in GGUF when left empty; a model nested in
	// another (Gemma 3's language model) has its own.
	LayerPrefix string
	// Before and After are the tensors outside the layers, stored
	// before them (the embedding) and after them (the final norm,
	// lm_head); a slot the model lacks is left out by the family.
	Before, After []Slot
	// Kinds lists the slots of each kind of layer in stored order, and
	// Layers the kind of each layer in turn (layers past the model's own,
	// such as multi-token-prediction layers, included).
	Kinds  [][]Slot
	Layers []uint8
	// Experts is the number of routed experts each Expert slot repeats
	// for, under ExpertPrefix ("mlp.experts.") after the layer prefix.
	Experts      int
	ExpertPrefix string
	// Quant is how the Quantized slots are stored: as they are (the
	// zero Quant), FP8 with a block scale after each weight
	// (DeepSeek-V3's 128×128 weight_scale_inv), or packed GPTQ or AWQ
	// int4 with their zero points, scales and (GPTQ) g_idx ([Quant]).
	Quant Quant
}

// Table numbers the tensors a [TableSpec] declares and locates a stored
// tensor from its name alone, without building the expected list: a
// prefix cut, two index parses and a map lookup per tensor. It is
// immutable once made.
type Table struct {
	prefix, expertPrefix string
	experts              int
	outer                []outerSlot
	outerIndex           map[string]int // the outer slot of each name, when there are many
	kinds                []tableKind
	layers               []uint8
	base                 []int // base[l]: index of layer l's first tensor; base[len(layers)] the first after them
	total                int
}

type outerSlot struct {
	name  string
	role  Role
	index int
}

// tableKind is one kind of layer: its slots' roles and names, each slot's
// position in the layer, and where the expert block starts.
type tableKind struct {
	roles   []Role
	names   []string
	pos     []int          // a slot's position in the layer; an expert slot's is that of expert 0
	byName  map[string]int // the slot of each plain name
	expert  []int          // the expert slots, in order
	size    int
	perRole int // len(expert): expert e's copy of expert slot j sits at pos + e·perRole
}

// NewTable numbers the slots of s.
func NewTable(s TableSpec) *Table {
	t := &Table{prefix: "model.layers.", expertPrefix: s.ExpertPrefix, experts: s.Experts, layers: s.Layers}
	if s.Format == checkpoint.FormatGGUF {
		t.prefix = "blk."
	}
	if s.LayerPrefix != "" {
		t.prefix = s.LayerPrefix
	}
	for _, slots := range s.Kinds {
		t.kinds = append(t.kinds, newKind(s, s.Quant.quantize(slots)))
	}
	for _, sl := range s.Quant.quantize(s.Before) {
		t.outer = append(t.outer, outerSlot{name: sl.Name, role: slotRole(s.Format, sl), index: len(t.outer)})
	}
	t.base = make([]int, len(s.Layers)+1)
	idx := len(t.outer)
	for l, k := range s.Layers {
		t.base[l] = idx
		idx += t.kinds[k].size
	}
	t.base[len(s.Layers)] = idx
	for _, sl := range s.Quant.quantize(s.After) {
		t.outer = append(t.outer, outerSlot{name: sl.Name, role: slotRole(s.Format, sl), index: idx})
		idx++
	}
	t.total = idx
	if len(t.outer) > maxOuterScan {
		t.outerIndex = make(map[string]int, len(t.outer))
		for i, o := range t.outer {
			t.outerIndex[o.name] = i
		}
	}
	return t
}

// maxOuterScan is the number of tensors outside the layers up to which a
// name is looked for by comparing it with each (a vision tower has
// hundreds: a map then).
const maxOuterScan = 8

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func slotRole(f checkpoint.Format, sl Slot) Role {
	r := RoleOf(sl.Comp, ShapeIn(f, sl.Shape))
	r.Part, r.Values, r.Packing = sl.Part, sl.Values, sl.Packing
	return r
}

func newKind(s TableSpec, slots []Slot) tableKind {
	k := tableKind{byName: make(map[string]int, len(slots)), pos: make([]int, len(slots))}
	for _, sl := range slots {
		if sl.Expert {
			k.perRole++
		}
	}
	start := -1
	for i, sl := range slots {
		k.roles = append(k.roles, slotRole(s.Format, sl))
		k.names = append(k.names, sl.Name)
		if !sl.Expert {
			k.pos[i] = k.size
			k.size++
			k.byName[sl.Name] = i
			continue
		}
		if start < 0 { // the whole block: every expert's copy of every expert slot
			start = k.size
			k.size += k.perRole * s.Experts
		}
		k.pos[i] = start + len(k.expert)
		k.expert = append(k.expert, i)
	}
	return k
}

// Count returns the number of tensors.
func (t *Table) Count() int { return t.total }

// Expected lists the tensors in stored order: those before the layers,
// each layer in turn (its expert block expert by expert), those after.
func (t *Table) Expected() []Expected {
	out := make([]Expected, 0, t.total)
	after := len(t.outer)
	for i, o := range t.outer {
		if o.index >= t.base[len(t.layers)] {
			after = i
			break
		}
		out = append(out, o.role.At(o.name, -1, -1))
	}
	for layer, kind := range t.layers {
		k := &t.kinds[kind]
		p := t.prefix + strconv.Itoa(layer) + "."
		for i, name := range k.names {
			if _, plain := k.byName[name]; plain {
				out = append(out, k.roles[i].At(p+name, layer, -1))
				continue
			}
			if i != k.expert[0] {
				continue // written with the block
			}
			for e := range t.experts {
				ep := p + t.expertPrefix + strconv.Itoa(e) + "."
				for _, j := range k.expert {
					out = append(out, k.roles[j].At(ep+k.names[j], layer, e))
				}
			}
		}
	}
	for _, o := range t.outer[after:] {
		out = append(out, o.role.At(o.name, -1, -1))
	}
	return out
}

// Assign fills r with the role of the tensor called name, or reports
// false and leaves r alone when the table has no such tensor.
func (t *Table) Assign(name string, r *Role) bool {
	rest, ok := strings.CutPrefix(name, t.prefix)
	if !ok {
		if t.outerIndex != nil {
			i, ok := t.outerIndex[name]
			return ok && r.Fill(&t.outer[i].role, name, -1, -1, t.outer[i].index)
		}
		for i := range t.outer {
			if o := &t.outer[i]; o.name == name {
				return r.Fill(&o.role, name, -1, -1, o.index)
			}
		}
		return false
	}
	layer, rest, ok := CutIndex(rest)
	if !ok || layer >= len(t.layers) {
		return false
	}
	k := &t.kinds[t.layers[layer]]
	// Most tensors of a MoE checkpoint are experts': their prefix is
	// tried before the map (BenchmarkAssign in arch/qwen3).
	if erest, ok := strings.CutPrefix(rest, t.expertPrefix); ok && len(k.expert) > 0 {
		if e, proj, ok := CutIndex(erest); ok && e < t.experts {
			for _, i := range k.expert {
				if k.names[i] == proj {
					return r.Fill(&k.roles[i], name, layer, e, t.base[layer]+k.pos[i]+e*k.perRole)
				}
			}
		}
	}
	i, ok := k.byName[rest]
	return ok && r.Fill(&k.roles[i], name, layer, -1, t.base[layer]+k.pos[i])
}

// Tables are a family spec's two tables, one per format, each made on
// first use from the [TableSpec] its function declares. A spec that
// embeds Tables has [Spec.Expected], [Spec.Locate], [Spec.Count] and
// [Assigner.Assign] from it.
type Tables struct{ l *Layouts[*Table] }

// NewTables returns the tables spec declares, one per format.
func NewTables(spec func(checkpoint.Format) TableSpec) Tables {
	return Tables{NewLayouts(func(f checkpoint.Format) *Table { return NewTable(spec(f)) })}
}

// Table returns the table of format f.
func (t Tables) Table(f checkpoint.Format) *Table { return t.l.Of(f) }

// Expected lists the tensors in format f in stored order.
func (t Tables) Expected(f checkpoint.Format) []Expected { return t.l.Of(f).Expected() }

// Count returns the number of tensors in format f.
func (t Tables) Count(f checkpoint.Format) int { return t.l.Of(f).total }

// Assign fills r with the role of the tensor called name in format f.
func (t Tables) Assign(f checkpoint.Format, name string, r *Role) bool {
	return t.l.Of(f).Assign(name, r)
}

// Locate finds the expected tensor called name in format f, and its index.
func (t Tables) Locate(f checkpoint.Format, name string) (Expected, int, bool) {
	var r Role
	if !t.l.Of(f).Assign(name, &r) {
		return Expected{}, 0, false
	}
	return r.Expected, r.Index, true
}

// Pair is a [Slot] a family declares for both formats at once, under its
// name in each: HF after "model.layers.N." (a routed expert's after the
// expert prefix too), GGUF after "blk.N.", whole for a tensor outside the
// layers; "" in a format that has no such tensor. [SlotsIn] sets the
// Slot's Name and Expert.
type Pair struct {
	HF, GGUF string
	Slot
}

// Both returns the pair of the tensor named hf and gguf, of component comp
// and logical shape (outermost first).
func Both(hf, gguf string, comp Component, shape ...int64) Pair {
	return Pair{HF: hf, GGUF: gguf, Slot: Slot{Comp: comp, Shape: shape}}
}

// SlotsIn returns the slots of format f that pairs declare, in order,
// each under its name in f; a pair with no name in f is left out. A slot
// of a routed expert ([Component.Expert]) repeats per expert in a Hugging
// Face checkpoint (Slot.Expert), and in GGUF is one tensor stacking the
// experts, its logical shape led by their number (llama.cpp's converter
// stacks each layer's experts so).
func SlotsIn(f checkpoint.Format, experts int64, pairs ...Pair) []Slot {
	gguf := f == checkpoint.FormatGGUF
	out := make([]Slot, 0, len(pairs))
	for _, p := range pairs {
		sl := p.Slot
		sl.Name, sl.Expert = p.HF, p.Comp.Expert()
		if gguf {
			sl.Name, sl.Expert = p.GGUF, false
			if p.Comp.Expert() {
				sl.Shape = append([]int64{experts}, p.Shape...)
			}
		}
		if sl.Name != "" {
			out = append(out, sl)
		}
	}
	return out
}

// Ends returns the tensors outside the layers that every decoder has, in
// format f: before the layers the embedding [vocab, hidden]; after them
// the final norm [hidden] and, unless the embeddings are tied, lm_head
// [vocab, hidden] (transformers' tie_word_embeddings; llama.cpp then
// reads the output from token_embd).
func Ends(f checkpoint.Format, vocab, hidden int64, tied bool) (before, after []Slot) {
	before = SlotsIn(f, 0, Both("model.embed_tokens.weight", "token_embd.weight", CompEmbedding, vocab, hidden))
	after = SlotsIn(f, 0, Both("model.norm.weight", "output_norm.weight", CompFinalNorm, hidden))
	if !tied {
		after = append(after, SlotsIn(f, 0, Both("lm_head.weight", "output.weight", CompLMHead, vocab, hidden))...)
	}
	return before, after
}
