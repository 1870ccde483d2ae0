package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Manifest is what testdata/tiny/MANIFEST holds: for every fixture, the
// counts the tests expect, computed by this program from the architecture
// config and its own table of type sizes (not by the readers under test),
// and the size and sha256 of every file.
type Manifest struct {
	Model    string            `json:"model"`
	Comment  string            `json:"comment"`
	Fixtures []ManifestFixture `json:"fixtures"`
}

// ManifestFixture is one checkpoint of the manifest.
type ManifestFixture struct {
	Name string `json:"name"`
	// Source is what to pass to `weightaudit inspect`, relative to
	// testdata/tiny: a folder or the (first) model file.
	Source  string         `json:"source"`
	Format  string         `json:"format"` // "safetensors" or "gguf"
	Type    string         `json:"type"`   // the dtype of the matrices
	Tensors int            `json:"tensors"`
	Params  int64          `json:"params"`
	Bytes   int64          `json:"bytes"` // tensor data bytes, padding excluded
	Files   []ManifestFile `json:"files"`
}

// ManifestFile is one file of a fixture; Name is relative to testdata/tiny.
// Weights marks the files that hold tensors (shards, GGUF parts).
type ManifestFile struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Weights bool   `json:"weights"`
}

// tinySpec describes one tiny fixture.
type tinySpec struct {
	name   string // folder under tiny/ for HF, fixture name for GGUF
	format string
	typ    string // matrix dtype: F32, BF16 (HF); F32, F16, Q8_0 (GGUF)
	parts  int
}

var tinySpecs = []tinySpec{
	{name: "hf-f32", format: "safetensors", typ: "F32", parts: 2},
	{name: "hf-bf16", format: "safetensors", typ: "BF16", parts: 2},
	{name: "tiny-f32", format: "gguf", typ: "F32", parts: 1},
	{name: "tiny-f16", format: "gguf", typ: "F16", parts: 1},
	{name: "tiny-q8_0", format: "gguf", typ: "Q8_0", parts: 1},
	{name: "tiny-q8_0", format: "gguf", typ: "Q8_0", parts: 2},
}

// torchDTypes gives config.json's torch_dtype for a safetensors dtype.
var torchDTypes = map[string]string{"F32": "float32", "BF16": "bfloat16"}

// writeTiny writes testdata/tiny (dir) and its MANIFEST.
func writeTiny(ctx context.Context, dir string) error {
	cfg := qwen3.TinyMoE()
	spec, err := qwen3.NewMoE(cfg)
	if err != nil {
		return err
	}
	hf := hfValues(spec)
	gg, err := ggufValues(spec, hf)
	if err != nil {
		return err
	}
	m := Manifest{
		Model:   "qwen3.TinyMoE",
		Comment: "written by internal/fixturegen; do not edit. params and bytes are computed from the config and fixturegen's own type sizes; sizes and sha256 from the files written.",
	}
	for _, s := range tinySpecs {
		var (
			l      *synth.Layout
			folder string // relative to dir
			data   func(synth.Placed) ([]byte, error)
			err    error
		)
		switch s.format {
		case "safetensors":
			dt, ok := safetensors.ParseDType(s.typ)
			if !ok {
				return fmt.Errorf("%s: no safetensors dtype %s", s.name, s.typ)
			}
			c := *cfg
			c.TorchDType = torchDTypes[s.typ]
			var typed arch.Spec
			if typed, err = qwen3.NewMoE(&c); err == nil {
				l, err = synth.HF("tiny-qwen3-moe", typed, synth.HFOptions{Shards: s.parts, DType: dt})
			}
			folder = s.name
			data = func(p synth.Placed) ([]byte, error) { return encodeAs(p, hf[p.Name]) }
		case "gguf":
			l, err = synth.GGUF(s.name, spec, synth.GGUFOptions{Type: s.typ, Parts: s.parts})
			folder = "gguf"
			data = func(p synth.Placed) ([]byte, error) { return encodeAs(p, gg[p.Name]) }
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, folder), 0o755); err != nil {
			return err
		}
		if err := l.WriteDir(ctx, filepath.Join(dir, folder), data); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fx, err := describe(spec, s, l)
		if err != nil {
			return err
		}
		for _, f := range l.Files {
			name := path.Join(folder, f.Name)
			size, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				return err
			}
			if size != f.Size {
				return fmt.Errorf("%s: wrote %d bytes, layout says %d", name, size, f.Size)
			}
			weights := false
			for _, t := range l.Tensors {
				weights = weights || t.File == f.Name
			}
			fx.Files = append(fx.Files, ManifestFile{Name: name, Size: size, SHA256: sum, Weights: weights})
		}
		fx.Source = folder
		if s.format == "gguf" {
			fx.Source = path.Join(folder, l.Files[0].Name)
		}
		m.Fixtures = append(m.Fixtures, fx)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "MANIFEST"), append(b, '\n'), 0o644)
}

// describe computes a fixture's expected tensor count, parameters and bytes
// from the config, and checks them against what the synthesized layout
// placed.
func describe(spec arch.Spec, s tinySpec, l *synth.Layout) (ManifestFixture, error) {
	fx := ManifestFixture{Name: s.name, Format: s.format, Type: s.typ}
	if s.format == "gguf" && s.parts > 1 {
		fx.Name = fmt.Sprintf("%s-split%d", s.name, s.parts)
	}
	exp := spec.Expected(checkpoint.FormatSafetensors)
	if s.format == "gguf" {
		exp = spec.Expected(checkpoint.FormatGGUF)
	}
	for _, e := range exp {
		n := elements(e.Shape)
		typ := s.typ
		if s.format == "gguf" && (len(e.Shape) == 1 || e.Component == arch.CompRouter) {
			typ = "F32" // llama.cpp keeps norms and the router in F32
		}
		b, err := typeBytes(typ, n)
		if err != nil {
			return fx, fmt.Errorf("%s: tensor %s: %w", fx.Name, e.Name, err)
		}
		fx.Tensors++
		fx.Params += n
		fx.Bytes += b
	}
	var placed int64
	for _, t := range l.Tensors {
		placed += t.Bytes
	}
	if len(l.Tensors) != fx.Tensors || placed != fx.Bytes {
		return fx, fmt.Errorf("%s: the layout placed %d tensors of %d bytes, the config predicts %d of %d",
			fx.Name, len(l.Tensors), placed, fx.Tensors, fx.Bytes)
	}
	return fx, nil
}

// typeBytes is the storage size of n elements of the named type.
func typeBytes(typ string, n int64) (int64, error) {
	switch typ {
	case "F32":
		return 4 * n, nil
	case "F16", "BF16":
		return 2 * n, nil
	case "Q8_0":
		if n%q8Block != 0 {
			return 0, fmt.Errorf("%d elements are not whole Q8_0 blocks", n)
		}
		return n / q8Block * (2 + q8Block), nil
	}
	return 0, fmt.Errorf("no size for type %s", typ)
}

func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// hfValues returns the weights of every Hugging Face tensor of spec.
func hfValues(spec arch.Spec) map[string][]float32 {
	out := map[string][]float32{}
	for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
		out[e.Name] = weights(e.Name, elements(e.Shape), len(e.Shape))
	}
	return out
}

// ggufValues returns the weights of every GGUF tensor of spec, built from the
// Hugging Face values: a GGUF tensor holds the same row-major memory as the
// HF tensor of the same layer and component (ne {in, out} is HF [out, in]),
// and a stacked expert tensor (ne {.., .., E}) is the HF experts'
// matrices concatenated in expert order.
func ggufValues(spec arch.Spec, hf map[string][]float32) (map[string][]float32, error) {
	type role struct {
		layer int
		comp  arch.Component
	}
	byRole := map[role][]arch.Expected{}
	for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
		r := role{e.Layer, e.Component}
		byRole[r] = append(byRole[r], e) // experts arrive in expert order
	}
	out := map[string][]float32{}
	for _, g := range spec.Expected(checkpoint.FormatGGUF) {
		src := byRole[role{g.Layer, g.Component}]
		if len(src) == 0 {
			return nil, fmt.Errorf("gguf tensor %s: no Hugging Face tensor of layer %d, %s", g.Name, g.Layer, g.Component)
		}
		var v []float32
		for i, e := range src {
			if len(src) > 1 && e.Expert != i {
				return nil, fmt.Errorf("gguf tensor %s: Hugging Face tensor %s is expert %d at position %d", g.Name, e.Name, e.Expert, i)
			}
			v = append(v, hf[e.Name]...)
		}
		if int64(len(v)) != elements(g.Shape) {
			return nil, fmt.Errorf("gguf tensor %s: %d elements from Hugging Face, shape %v holds %d", g.Name, len(v), g.Shape, elements(g.Shape))
		}
		out[g.Name] = v
	}
	return out, nil
}

// encodeAs encodes the values of the placed tensor in its dtype.
func encodeAs(p synth.Placed, v []float32) ([]byte, error) {
	if v == nil {
		return nil, fmt.Errorf("no values for tensor %s", p.Name)
	}
	var (
		b   []byte
		err error
	)
	switch p.DType {
	case "F32":
		b = f32Bytes(v)
	case "F16":
		b = f16Bytes(v)
	case "BF16":
		b = bf16Bytes(v)
	case "Q8_0":
		b, err = q8_0Bytes(v)
	default:
		err = fmt.Errorf("no encoder for dtype %s", p.DType)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != p.Bytes {
		return nil, fmt.Errorf("tensor %s: %d bytes of %s, the layout holds %d", p.Name, len(b), p.DType, p.Bytes)
	}
	return b, nil
}

// hashFile returns the size and hex sha256 of the file at name.
func hashFile(name string) (int64, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
