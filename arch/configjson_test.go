package arch_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	_ "github.com/weightaudit/weightaudit/arch/all"
)

// probe is a config struct with a field of each kind DecodeConfig fills,
// a case variant of another field's key, an untagged and an ignored field.
type probe struct {
	ModelType string   `json:"model_type"`
	Vocab     int64    `json:"vocab_size"`
	VocabUp   int64    `json:"VOCAB_SIZE"`
	Theta     float64  `json:"rope_theta"`
	Eps       float32  `json:"rms_norm_eps"`
	Tied      bool     `json:"tie_word_embeddings"`
	Layers    []int64  `json:"mlp_only_layers"`
	Archs     []string `json:"architectures,omitempty"`
	Untagged  int
	Ignored   int `json:"-"`
}

// Keys match exactly as Python's json and transformers read them: a
// differently cased key is another key, a key given twice keeps its last
// value and is reported with every value; Python's NaN and Infinity, and
// numbers beyond the float64 range, are floats.
func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		want     probe // decoded over probe{Vocab: 7, Theta: 10000}
		wantDups []arch.DuplicateKey
	}{
		{
			name: "key twice keeps the last",
			json: `{"vocab_size": 999, "vocab_size": 320}`,
			want: probe{Vocab: 320, Theta: 10000}, wantDups: []arch.DuplicateKey{{Key: "vocab_size", Values: []string{"999", "320"}}},
		},
		{
			name: "case variant is another key",
			json: `{"vocab_size": 999, "VOCAB_SIZE": 320}`,
			want: probe{Vocab: 999, VocabUp: 320, Theta: 10000},
		},
		{
			name: "case variant without a field is ignored",
			json: `{"Vocab_Size": 320, "Rope_Theta": 1}`,
			want: probe{Vocab: 7, Theta: 10000},
		},
		{
			name: "escaped key is the same key",
			json: `{"vocab_size": 1, "vocab\u005fsize": 2}`,
			want: probe{Vocab: 2, Theta: 10000}, wantDups: []arch.DuplicateKey{{Key: "vocab_size", Values: []string{"1", "2"}}},
		},
		{
			name:     "three values, compacted, across lines",
			json:     "{\"mlp_only_layers\": [1,\n 2],\n\"model_type\":\"a\", \"mlp_only_layers\" : {\"x\": 1},\t\"mlp_only_layers\":[3]\n}\n",
			want:     probe{ModelType: "a", Vocab: 7, Theta: 10000, Layers: []int64{3}},
			wantDups: []arch.DuplicateKey{{Key: "mlp_only_layers", Values: []string{"[1,2]", `{"x":1}`, "[3]"}}},
		},
		{
			name: "every kind of field",
			json: `{"model_type": "qwen3_moe", "rope_theta": 1e6, "rms_norm_eps": 1e-6, "tie_word_embeddings": true, "architectures": ["A", "B"], "Untagged": 4, "Ignored": 5, "-": 6}`,
			want: probe{ModelType: "qwen3_moe", Vocab: 7, Theta: 1e6, Eps: 1e-6, Tied: true, Archs: []string{"A", "B"}, Untagged: 4},
		},
		{
			name: "null and absent keep the default",
			json: `{"vocab_size": null}`,
			want: probe{Vocab: 7, Theta: 10000},
		},
		{
			name: "Python's NaN",
			json: `{"rope_theta": NaN}`,
			want: probe{Vocab: 7, Theta: math.NaN()},
		},
		{
			name: "Python's Infinity and -Infinity",
			json: `{"rope_theta":Infinity,"rms_norm_eps":-Infinity}`,
			want: probe{Vocab: 7, Theta: math.Inf(1), Eps: float32(math.Inf(-1))},
		},
		{
			name: "beyond the float range is infinite, as float() makes it",
			json: `{"rope_theta": -1e400, "rms_norm_eps": 1e39}`,
			want: probe{Vocab: 7, Theta: math.Inf(-1), Eps: float32(math.Inf(1))},
		},
		{
			name: "NaN in a string and in an ignored key",
			json: `{"model_type": "NaN", "other": [NaN, -Infinity, {"k": Infinity}]}`,
			want: probe{ModelType: "NaN", Vocab: 7, Theta: 10000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := probe{Vocab: 7, Theta: 10000}
			dups, err := arch.DecodeConfig([]byte(tt.json), &got)
			if err != nil {
				t.Fatalf("DecodeConfig(%s) = %v", tt.json, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("DecodeConfig(%s) decoded (-want +got):\n%s", tt.json, diff)
			}
			if diff := cmp.Diff(tt.wantDups, dups); diff != "" {
				t.Errorf("DecodeConfig(%s) duplicates (-want +got):\n%s", tt.json, diff)
			}
		})
	}
}

func TestDuplicateKeyConflict(t *testing.T) {
	tests := []struct {
		d    arch.DuplicateKey
		want string
	}{
		{arch.DuplicateKey{Key: "vocab_size", Values: []string{"999", "320"}},
			`config.json has "vocab_size" twice: 999, then 320; Python's json keeps 320`},
		{arch.DuplicateKey{Key: "model_type", Values: []string{`"llama"`, `"qwen3"`, `"qwen3_moe"`}},
			`config.json has "model_type" 3 times: "llama", "qwen3", then "qwen3_moe"; Python's json keeps "qwen3_moe"`},
	}
	for _, tt := range tests {
		c := tt.d.Conflict()
		if c.Message != tt.want || c.Field != tt.d.Key || c.File != "config.json" {
			t.Errorf("%+v.Conflict() = %+v, want field %s, file config.json, message %q", tt.d, c, tt.d.Key, tt.want)
		}
	}
	// A long value is cut in the message.
	long := `{"architectures": ["` + strings.Repeat("x", 100) + `"], "architectures": []}`
	dups, err := arch.DecodeConfig([]byte(long), &probe{})
	if err != nil || len(dups) != 1 || len(dups[0].Values[0]) > 64 || !strings.HasSuffix(dups[0].Values[0], "…") {
		t.Errorf("DecodeConfig(long duplicate) = %+v, %v; want the first value cut to 60 bytes with …", dups, err)
	}
}

// What Python's json refuses, or what is no object, is refused, wrapping
// arch.ErrConfig (and encoding/json's error, when it has one).
func TestDecodeConfigErrors(t *testing.T) {
	tests := []struct {
		name, json, wantMsg string
		syntax, typ         bool // wraps *json.SyntaxError, *json.UnmarshalTypeError
	}{
		{name: "array", json: `[{"vocab_size": 1}]`, wantMsg: "JSON array, want an object"},
		{name: "string", json: `"x"`, wantMsg: "JSON string"},
		{name: "number", json: `12`, wantMsg: "JSON number"},
		{name: "NaN alone", json: `NaN`, wantMsg: "JSON number"},
		{name: "null", json: `null`, wantMsg: "JSON null"},
		{name: "empty", json: ` `, wantMsg: "empty"},
		{name: "two objects", json: `{} {}`, wantMsg: "extra data"},
		{name: "trailing garbage", json: `{"a": 1} x`, syntax: true},
		{name: "truncated", json: `{"a": 1`, wantMsg: "EOF"},
		{name: "number glued to NaN", json: `{"a": 1NaN}`, syntax: true},
		{name: "NaN glued to a letter", json: `{"a": NaNa}`, syntax: true},
		{name: "negative NaN", json: `{"a": -NaN}`, syntax: true},
		{name: "NaN as a key", json: `{NaN: 1}`, wantMsg: "invalid character 'N'"},
		{name: "single quotes", json: `{'a': 1}`, syntax: true},
		{name: "not UTF-8", json: "{\"model_type\": \"\xff\"}", wantMsg: "UTF-8"},
		{name: "byte order mark", json: "\ufeff{}", syntax: true},
		{name: "wrong type", json: `{"vocab_size": "64"}`, wantMsg: `config key "vocab_size"`, typ: true},
		{name: "float for an integer", json: `{"vocab_size": 64.5}`, wantMsg: `config key "vocab_size"`, typ: true},
		{name: "string for a float", json: `{"rope_theta": "1e6"}`, wantMsg: `config key "rope_theta"`, typ: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := arch.DecodeConfig([]byte(tt.json), &probe{})
			if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("DecodeConfig(%q) = %v, want arch.ErrConfig with %q", tt.json, err, tt.wantMsg)
			}
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			if tt.syntax && !errors.As(err, &se) || tt.typ && !errors.As(err, &te) {
				t.Errorf("DecodeConfig(%q) = %v, want a *json.SyntaxError %v, *json.UnmarshalTypeError %v", tt.json, err, tt.syntax, tt.typ)
			}
		})
	}
	if _, err := arch.DecodeConfig([]byte(`{}`), probe{}); err == nil {
		t.Error("DecodeConfig into a struct value succeeded")
	}
}

// tinyJSON is a complete Qwen3-MoE config.json body without the braces
// and model_type: TinyMoE's dimensions, written out by hand.
const tinyJSON = `"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "moe_intermediate_size": 32,
	"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
	"num_experts": 4, "num_experts_per_tok": 2, "norm_topk_prob": true, "rope_theta": 1000000.0,
	"rms_norm_eps": 1e-06, "max_position_embeddings": 128`

// The registry reads model_type as Python does: a case variant does not
// switch the family, and a key given twice is the last.
func TestFromConfigExactKeys(t *testing.T) {
	_, err := arch.FromConfig([]byte(`{"model_type": "frobnicator", "MODEL_TYPE": "qwen3_moe", ` + tinyJSON + `}`))
	if !errors.Is(err, arch.ErrUnsupportedArch) || !strings.Contains(err.Error(), `"frobnicator"`) {
		t.Errorf(`FromConfig(model_type "frobnicator", MODEL_TYPE "qwen3_moe") = %v, want arch.ErrUnsupportedArch naming "frobnicator"`, err)
	}
	tests := []struct {
		name, json string
		family     string
		vocab      int64
	}{
		{"case variant of model_type ignored", `{"MODEL_TYPE": "llama", "model_type": "qwen3_moe", ` + tinyJSON + `}`, "qwen3moe", 64},
		{"model_type twice: the last", `{"model_type": "llama", "model_type": "qwen3_moe", ` + tinyJSON + `}`, "qwen3moe", 64},
		{"case variant of vocab_size ignored", `{"model_type": "qwen3_moe", ` + tinyJSON + `, "VOCAB_SIZE": 320}`, "qwen3moe", 64},
		{"vocab_size twice: the last", `{"model_type": "qwen3_moe", ` + tinyJSON + `, "vocab_size": 320}`, "qwen3moe", 320},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := arch.FromConfig([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if s.Family() != tt.family || s.Dims().Vocab != tt.vocab {
				t.Errorf("FromConfig = %s with vocab %d, want %s with %d", s.Family(), s.Dims().Vocab, tt.family, tt.vocab)
			}
		})
	}
}
