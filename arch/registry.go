package arch

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// Category sentinels of the architecture layer. Test with [errors.Is].
var (
	// ErrUnsupportedArch means a checkpoint's architecture (config.json
	// model_type, GGUF general.architecture) belongs to no registered
	// family.
	ErrUnsupportedArch = errors.New("unsupported architecture")

	// ErrConfig means a configuration cannot describe a model of its
	// family: a dimension missing, zero or negative where it must be
	// positive, beyond the limits (so that no count overflows), or
	// inconsistent with another; or a config.json that is not one JSON
	// object as Python's json reads it, or gives a key a value of the
	// wrong type. The error names the config key.
	ErrConfig = errors.New("invalid config")

	// ErrNotApplicable means a spec lacks the capability a computation
	// needs (a cost term, the forward wiring): the architecture does not
	// say, and no other family's answer stands in.
	ErrNotApplicable = errors.New("not applicable to this architecture")

	// ErrNoConfig means a safetensors checkpoint has no config.json:
	// without it the architecture is unknown.
	ErrNoConfig = errors.New("no config.json: the audit needs the architecture")
)

// Family is one architecture family: how to recognize it and how to build
// its [Spec] from a Hugging Face config.json or from GGUF metadata.
type Family struct {
	Name       string   // e.g. "qwen3moe"
	ModelTypes []string // Hugging Face config.json model_type values
	// GGUFArch is the GGUF general.architecture, "" for a family whose
	// GGUF files another family's FromGGUF reads (llama.cpp writes
	// Mixtral as "llama": the llama family's FromGGUF returns a Mixtral
	// spec when the metadata has experts).
	GGUFArch string
	// FromConfig parses and validates a config.json of this family.
	FromConfig func(configJSON []byte) (Spec, error)
	// FromGGUF reads and validates the family's metadata keys; nil
	// exactly when GGUFArch is "".
	FromGGUF func(m *GGUFMeta) (Spec, error)
	// Example returns a small model of the family (kilobytes of
	// weights, every kind of layer it has), which the conformance tests
	// synthesize in both formats and audit.
	Example func() Spec
	// Harnesses, when set, returns the results of the family's proof
	// harnesses (see [Harnessed]), computed once per process.
	Harnesses func() []HarnessResult
}

// FromConfigFunc returns a [Family] FromConfig: parse decodes a
// config.json into the family's config C, build validates it into a spec.
func FromConfigFunc[C any, S Spec](parse func(configJSON []byte) (*C, error), build func(*C) (S, error)) func([]byte) (Spec, error) {
	return func(data []byte) (Spec, error) {
		c, err := parse(data)
		if err != nil {
			return nil, err
		}
		s, err := build(c)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// FromGGUFFunc returns a [Family] FromGGUF: read reads the family's
// config C and what the metadata said of it ([GGUFKeys.Read]), build
// validates the config into a spec, and keep gives the spec its source.
func FromGGUFFunc[C any, S Spec](read func(*GGUFMeta) (*C, *GGUFSource, error), build func(*C) (S, error), keep func(S, *GGUFSource)) func(*GGUFMeta) (Spec, error) {
	return func(m *GGUFMeta) (Spec, error) {
		c, src, err := read(m)
		if err != nil {
			return nil, err
		}
		s, err := build(c)
		if err != nil {
			return nil, err
		}
		keep(s, src)
		return s, nil
	}
}

var (
	regMu    sync.RWMutex
	families []Family
)

// Register adds a family; a family package calls it from its init. It
// panics when the name, a model type or the GGUF architecture is taken or
// a constructor is missing: that is a programming error.
func Register(f Family) {
	regMu.Lock()
	defer regMu.Unlock()
	if f.Name == "" || f.FromConfig == nil || f.Example == nil || len(f.ModelTypes) == 0 || (f.GGUFArch != "") != (f.FromGGUF != nil) {
		panic(fmt.Sprintf("arch: family %q registered incomplete", f.Name))
	}
	for _, g := range families {
		if g.Name == f.Name || (f.GGUFArch != "" && g.GGUFArch == f.GGUFArch) {
			panic(fmt.Sprintf("arch: family %q registered twice", f.Name))
		}
		for _, mt := range f.ModelTypes {
			if slices.Contains(g.ModelTypes, mt) {
				panic(fmt.Sprintf("arch: model_type %q registered by %q and %q", mt, g.Name, f.Name))
			}
		}
	}
	families = append(families, f)
}

// Families returns the registered families, by name.
func Families() []Family {
	regMu.RLock()
	defer regMu.RUnlock()
	out := slices.Clone(families)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FromConfig returns the spec a config.json describes, by its model_type,
// read as [DecodeConfig] reads it: the key "model_type" exactly, its last
// value when given twice.
func FromConfig(configJSON []byte) (Spec, error) {
	s, _, err := fromConfig(configJSON)
	return s, err
}

// fromConfig is [FromConfig], also returning the keys config.json gives
// twice.
func fromConfig(configJSON []byte) (Spec, []DuplicateKey, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	dups, err := DecodeConfig(configJSON, &head)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range Families() {
		if slices.Contains(f.ModelTypes, head.ModelType) {
			s, err := f.FromConfig(configJSON)
			return s, dups, err
		}
	}
	return nil, nil, fmt.Errorf("config.json model_type %q: %w (supported: %s)", head.ModelType, ErrUnsupportedArch, supportedModelTypes())
}

func supportedModelTypes() string {
	var s []string
	for _, f := range Families() {
		s = append(s, f.ModelTypes...)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// FromGGUF returns the spec a GGUF file's metadata describes, by its
// general.architecture. For a split set pass every part: the metadata is
// read from the first, tensors are looked up in all.
func FromGGUF(parts ...*gguf.File) (Spec, error) {
	if len(parts) == 0 {
		return nil, errors.New("no GGUF file")
	}
	m := &GGUFMeta{Arch: parts[0].Architecture(), Parts: parts}
	for _, f := range Families() {
		if f.GGUFArch != "" && f.GGUFArch == m.Arch {
			return f.FromGGUF(m)
		}
	}
	return nil, fmt.Errorf("general.architecture %q: %w", m.Arch, ErrUnsupportedArch)
}

// GGUFMeta is the metadata of a GGUF file (or split set) as a family reads
// it: keys under its architecture's prefix, and its tensors.
type GGUFMeta struct {
	Arch  string       // general.architecture
	Parts []*gguf.File // the parts of a split set in order, or one file
}

// Tensor returns the tensor info called name from any part.
func (m *GGUFMeta) Tensor(name string) (*gguf.TensorInfo, bool) {
	for _, p := range m.Parts {
		if t, ok := p.Lookup(name); ok {
			return t, true
		}
	}
	return nil, false
}

// Uint returns the unsigned integer at "<arch>.<key>" of the first part.
func (m *GGUFMeta) Uint(key string) (uint64, error) {
	return m.Parts[0].GetUint(m.Arch + "." + key)
}

// Float returns the float at "<arch>.<key>" of the first part.
func (m *GGUFMeta) Float(key string) (float64, error) {
	return m.Parts[0].GetFloat(m.Arch + "." + key)
}

// VocabSize returns the length of tokenizer.ggml.tokens, or failing that
// the embedding's rows (token_embd.weight's ne[1]); 0 when neither is
// there.
func (m *GGUFMeta) VocabSize() int64 {
	if toks, ok := m.Parts[0].Get("tokenizer.ggml.tokens"); ok && toks.Type() == gguf.ValueArray {
		return int64(toks.Len())
	}
	if t, ok := m.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
		return t.Dims[1]
	}
	return 0
}

// TiedEmbeddings reports whether the file has no output.weight: llama.cpp
// then reads the output projection from token_embd.weight, as
// transformers' tie_word_embeddings does (src/llama-model.cpp creates
// output with TENSOR_DUPLICATED from token_embd when it is absent).
func (m *GGUFMeta) TiedEmbeddings() bool {
	_, ok := m.Tensor("output.weight")
	return !ok
}

// FromCheckpoint derives the architecture of ck: from config.json for
// safetensors; from the GGUF metadata for GGUF, compared against a
// config.json beside it when there is one (its [ConfigComparer] lists each
// disagreement).
//
// The conflicts are what the audit reports of the configuration, each
// with its File: the keys config.json gives twice, the values of
// config.json and of the GGUF metadata a [ConfigChecker] finds the model
// cannot run with, and the disagreements between the two. None of them
// prevents counting; what does is returned as an error.
func FromCheckpoint(ck *checkpoint.Checkpoint) (Spec, []Conflict, error) {
	var hf Spec
	var conflicts []Conflict
	if ck.Config != nil {
		s, dups, err := fromConfig(ck.Config)
		if err != nil {
			return nil, nil, err
		}
		hf = s
		for _, d := range dups {
			conflicts = append(conflicts, d.Conflict())
		}
		conflicts = append(conflicts, inFile("config.json", problems(hf))...)
	}
	if ck.Format == checkpoint.FormatSafetensors {
		if hf == nil {
			return nil, nil, ErrNoConfig
		}
		return hf, conflicts, nil
	}
	spec, err := FromGGUF(ck.GGUF...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ck.Files[0].Name, err)
	}
	if cmp, ok := hf.(ConfigComparer); ok {
		conflicts = append(conflicts, inFile("config.json", cmp.CompareConfig(spec))...)
	}
	conflicts = append(conflicts, inFile(ck.Files[0].Name, problems(spec))...)
	return spec, conflicts, nil
}

// problems returns the [ConfigChecker] problems of spec, if it has the
// capability.
func problems(spec Spec) []Conflict {
	if c, ok := spec.(ConfigChecker); ok {
		return c.ConfigProblems()
	}
	return nil
}

// inFile sets the File of each conflict that has none to name.
func inFile(name string, cs []Conflict) []Conflict {
	for i := range cs {
		if cs[i].File == "" {
			cs[i].File = name
		}
	}
	return cs
}

// Must returns s, panicking on err: for specs of configs known to be
// valid (the published ones, test fixtures), as each family's MustNew.
func Must[S Spec](s S, err error) S {
	if err != nil {
		panic(err)
	}
	return s
}
