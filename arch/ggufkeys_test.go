package arch_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// toy is a family's config as the shared helpers see it.
type toy struct {
	Layers, Hidden, Heads, KVHeads, HeadDim, Context, Experts int64
	Theta, Eps                                                float64
}

// toyKeys has a key of every kind: required, loader, defaulted float,
// fallback, write-only, repeated and MoE.
var toyKeys = arch.GGUFKeys[toy]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *toy) *int64 { return &c.Layers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *toy) *int64 { return &c.Context }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *toy) *int64 { return &c.Hidden }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *toy) *int64 { return &c.Heads }, Required: true},
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *toy) *int64 { return &c.KVHeads },
		Fallback: func(c *toy) int64 { return c.Heads }},
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *toy) *float64 { return &c.Theta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *toy) *float64 { return &c.Eps }, Loader: true},
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *toy) *int64 { return &c.HeadDim }},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *toy) *int64 { return &c.HeadDim }, WriteOnly: true},
	{Key: "rope.dimension_count", Field: "head_dim", Int: func(c *toy) *int64 { return &c.HeadDim },
		Same: func(full string, got, want int64) string { return fmt.Sprintf("%s is %d, not %d", full, got, want) }},
	{Key: "expert_count", Field: "num_experts", Int: func(c *toy) *int64 { return &c.Experts }, Required: true, MoE: true},
}

var toyConfig = toy{Layers: 2, Hidden: 32, Heads: 4, KVHeads: 2, HeadDim: 8, Context: 128, Experts: 4, Theta: 1e6, Eps: 0x1p-20} // floats float32 holds exactly

// meta returns GGUF metadata of architecture "toy" holding kvs.
func meta(kvs []gguf.KV) *arch.GGUFMeta {
	return &arch.GGUFMeta{Arch: "toy", Parts: []*gguf.File{{KVs: kvs}}}
}

// without returns kvs less the "toy." keys named.
func without(kvs []gguf.KV, keys ...string) []gguf.KV {
	return slices.DeleteFunc(slices.Clone(kvs), func(kv gguf.KV) bool {
		return slices.Contains(keys, strings.TrimPrefix(kv.Key, "toy."))
	})
}

// with returns kvs with the "toy." key set to v.
func with(kvs []gguf.KV, key string, v gguf.Value) []gguf.KV {
	return append(without(kvs, key), gguf.KV{Key: "toy." + key, Value: v})
}

func TestGGUFKeysWrite(t *testing.T) {
	kvs := toyKeys.Write("toy", &toyConfig, false)
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	want := []string{"toy.block_count", "toy.context_length", "toy.embedding_length", "toy.attention.head_count",
		"toy.attention.head_count_kv", "toy.rope.freq_base", "toy.attention.layer_norm_rms_epsilon",
		"toy.attention.key_length", "toy.attention.value_length", "toy.rope.dimension_count"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("Write keys without MoE (-want +got):\n%s", diff)
	}
	if n := len(toyKeys.Write("toy", &toyConfig, true)); n != len(toyKeys) {
		t.Errorf("Write with MoE wrote %d keys, want all %d", n, len(toyKeys))
	}
	if v := kvs[5].Value; v.Type() != gguf.ValueFloat32 {
		t.Errorf("rope.freq_base written as %v, want float32", v.Type())
	}
}

func TestGGUFKeysRead(t *testing.T) {
	full := toyKeys.Write("toy", &toyConfig, true)
	tests := []struct {
		name     string
		kvs      []gguf.KV
		moe      bool
		want     func(c *toy)                           // the edit of toyConfig that Read gives
		absent   []string                               // fields reported absent
		problems []string                               // ConfigProblems' fields
		check    func(t *testing.T, s *arch.GGUFSource) // anything else
		wantErr  string                                 // an error naming this key
	}{
		{name: "round trip", kvs: full, moe: true, want: func(*toy) {}},
		{name: "MoE keys skipped", kvs: full, want: func(c *toy) { c.Experts = 0 }},
		{name: "fallback and default", kvs: without(full, "attention.head_count_kv", "rope.freq_base"), moe: true,
			want:   func(c *toy) { c.KVHeads, c.Theta = 4, 10000 },
			absent: []string{"num_key_value_heads", "rope_theta"}},
		{name: "loader keys absent", kvs: without(full, "context_length", "attention.layer_norm_rms_epsilon"), moe: true,
			want:     func(c *toy) { c.Context, c.Eps = 0, 0 },
			absent:   []string{"max_position_embeddings", "rms_norm_eps"},
			problems: []string{"max_position_embeddings", "rms_norm_eps"}},
		{name: "float of another type", kvs: with(full, "attention.layer_norm_rms_epsilon", gguf.String("x")), moe: true,
			want: func(c *toy) { c.Eps = 0 }, absent: []string{"rms_norm_eps"}, problems: []string{"rms_norm_eps"}},
		{name: "repeat that disagrees", kvs: with(full, "rope.dimension_count", gguf.Uint32(4)), moe: true,
			want: func(*toy) {}, problems: []string{"head_dim"},
			check: func(t *testing.T, s *arch.GGUFSource) {
				if got := arch.ConfigProblems(s, nil)[0].Message; got != "toy.rope.dimension_count is 4, not 8" {
					t.Errorf("problem %q", got)
				}
			}},
		{name: "repeat absent", kvs: without(full, "rope.dimension_count"), moe: true, want: func(*toy) {}},
		{name: "keys named", kvs: full, moe: true, want: func(*toy) {},
			check: func(t *testing.T, s *arch.GGUFSource) {
				if k := s.Key("head_dim"); k != "toy.attention.key_length" {
					t.Errorf(`Key("head_dim") = %q, want the key that is read`, k)
				}
				if k := s.Key("vocab_size"); k != "" {
					t.Errorf(`Key("vocab_size") = %q, want ""`, k)
				}
			}},
		{name: "required key absent", kvs: without(full, "block_count"), wantErr: "toy.block_count"},
		{name: "required MoE key absent", kvs: without(full, "expert_count"), moe: true, wantErr: "toy.expert_count"},
		{name: "value too large", kvs: with(full, "embedding_length", gguf.Uint64(1<<40)), wantErr: "toy.embedding_length"},
		{name: "integer of another type", kvs: with(full, "attention.key_length", gguf.String("8")), wantErr: "toy.attention.key_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c toy
			src, err := toyKeys.Read(meta(tt.kvs), &c, tt.moe)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Read error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := toyConfig
			tt.want(&want)
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("Read config (-want +got):\n%s", diff)
			}
			var absent []string
			for _, k := range toyKeys {
				if src.Absent(k.Field) && !slices.Contains(absent, k.Field) {
					absent = append(absent, k.Field)
				}
			}
			if diff := cmp.Diff(tt.absent, absent); diff != "" {
				t.Errorf("absent fields (-want +got):\n%s", diff)
			}
			var problems []string
			for _, p := range arch.ConfigProblems(src, nil) {
				problems = append(problems, p.Field)
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("ConfigProblems fields (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, src)
			}
		})
	}
}

func TestConfigProblems(t *testing.T) {
	bad := []arch.BadValue{{Key: "rms_norm_eps", Got: "-1", Want: "≥ 0"}, {Key: "rope_theta", Got: "0", Want: "> 0"}}
	got := arch.ConfigProblems(nil, bad)
	want := []arch.Conflict{{Field: "rms_norm_eps", Message: "rms_norm_eps is -1, want ≥ 0"}, {Field: "rope_theta", Message: "rope_theta is 0, want > 0"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigProblems(nil, …) (-want +got):\n%s", diff)
	}
	// Read from GGUF metadata without the epsilon: its own problem
	// replaces the bad value's, and the other names its key.
	var c toy
	src, err := toyKeys.Read(meta(without(toyKeys.Write("toy", &toyConfig, false), "attention.layer_norm_rms_epsilon")), &c, false)
	if err != nil {
		t.Fatal(err)
	}
	got = arch.ConfigProblems(src, bad)
	want = []arch.Conflict{
		{Field: "rms_norm_eps", Message: "the GGUF metadata has no toy.attention.layer_norm_rms_epsilon (rms_norm_eps), which llama.cpp requires"},
		{Field: "rope_theta", Message: "rope_theta (toy.rope.freq_base) is 0, want > 0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigProblems(src, …) (-want +got):\n%s", diff)
	}
}

func TestCheckDims(t *testing.T) {
	tests := []struct {
		name string
		dims []arch.Dim
		want string // "" for no error
	}{
		{"within", []arch.Dim{{Key: "a", Value: 1}, {Key: "b", Value: 0, Optional: true}, {Key: "c", Value: arch.MaxDim}}, ""},
		{"zero", []arch.Dim{{Key: "a", Value: 1}, {Key: "b", Value: 0}}, `config key "b" = 0, want > 0`},
		{"negative optional", []arch.Dim{{Key: "b", Value: -1, Optional: true}}, `config key "b" = -1, want ≥ 0`},
		{"beyond MaxDim", []arch.Dim{{Key: "c", Value: arch.MaxDim + 1}}, `config key "c" = 1048577 exceeds the limit 1048576`},
		{"beyond its limit", []arch.Dim{{Key: "l", Value: arch.MaxLayers + 1, Limit: arch.MaxLayers}}, `config key "l" = 4097 exceeds the limit 4096`},
		{"the first", []arch.Dim{{Key: "a", Value: 0}, {Key: "b", Value: -1}}, `"a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := arch.CheckDims(tt.dims...)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckDims = %v, want nil", err)
			case tt.want != "" && (!errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckDims = %v, want arch.ErrConfig with %s", err, tt.want)
			}
		})
	}
}
