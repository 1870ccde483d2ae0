package arch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
)

// naiveDecode is the reference for DecodeConfig into a probe, written
// without it: encoding/json decodes the document into a map (whose keys
// match exactly, the last of a key given twice winning), each key of probe
// is assigned by hand, and a second walk over every token counts the
// top-level keys. It knows nothing of Python's NaN and Infinity, nor of
// UTF-8 checking.
func naiveDecode(data []byte) (probe, map[string]int, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return probe{}, nil, err
	}
	if m == nil {
		return probe{}, nil, errors.New("null")
	}
	var p probe
	for k, raw := range m {
		var err error
		switch k {
		case "model_type":
			err = json.Unmarshal(raw, &p.ModelType)
		case "vocab_size":
			err = json.Unmarshal(raw, &p.Vocab)
		case "VOCAB_SIZE":
			err = json.Unmarshal(raw, &p.VocabUp)
		case "rope_theta":
			err = json.Unmarshal(raw, &p.Theta)
		case "rms_norm_eps":
			err = json.Unmarshal(raw, &p.Eps)
		case "tie_word_embeddings":
			err = json.Unmarshal(raw, &p.Tied)
		case "mlp_only_layers":
			err = json.Unmarshal(raw, &p.Layers)
		case "architectures":
			err = json.Unmarshal(raw, &p.Archs)
		case "Untagged":
			err = json.Unmarshal(raw, &p.Untagged)
		}
		if err != nil {
			return probe{}, nil, err
		}
	}
	return p, countKeys(data), nil
}

// countKeys counts the keys of the top-level object of a valid document,
// walking every token: inside an object, tokens alternate key and value.
func countKeys(data []byte) map[string]int {
	type frame struct{ object, wantKey bool }
	var stack []frame
	counts := map[string]int{}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return counts
		}
		if err != nil {
			panic(err) // the document was valid
		}
		n := len(stack)
		switch {
		case tok == json.Delim('}') || tok == json.Delim(']'):
			stack = stack[:n-1]
			valueDone()
		case n > 0 && stack[n-1].wantKey:
			if n == 1 {
				counts[tok.(string)]++
			}
			stack[n-1].wantKey = false
		case tok == json.Delim('{') || tok == json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{'), wantKey: tok == json.Delim('{')})
		default:
			valueDone()
		}
	}
}

// FuzzDecodeConfig checks DecodeConfig against naiveDecode: no panic; on
// every UTF-8 document the reference reads, the same struct and the same
// keys given twice, each with as many values as occurrences and the last
// value the one kept; a document the reference refuses is read only for
// Python's NaN or Infinity, or a float beyond the range.
func FuzzDecodeConfig(f *testing.F) {
	for _, s := range []string{
		`{"vocab_size": 999, "VOCAB_SIZE": 320}`,
		`{"vocab_size": 999, "vocab_size": 320}`,
		`{"model_type": "llama", "MODEL_TYPE": "qwen3_moe", "model_type": "qwen3_moe"}`,
		`{"rope_theta": NaN, "rms_norm_eps": -Infinity, "x": [Infinity, {"y": NaN}]}`,
		`{"rope_theta": 1e400, "rms_norm_eps": 1e39, "mlp_only_layers": [1, 2], "architectures": ["A"], "Untagged": 3}`,
		`{"vocab\u005fsize": 1, "vocab_size": null, "tie_word_embeddings": true, "Ignored": 1}`,
		`[{"vocab_size": 1}]`, `null`, `{} {}`, `{"a": 1NaN}`, "{\"model_type\": \"\xff\"}",
		"{\n  \"mlp_only_layers\": [\n 1 ],\n  \"mlp_only_layers\" : {\"a\": [1, 2]}\n}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got probe
		dups, err := arch.DecodeConfig(data, &got)
		want, counts, refErr := naiveDecode(data)
		switch {
		case refErr == nil && !utf8.Valid(data):
			if err == nil {
				t.Fatalf("DecodeConfig(%q) read a document that is not UTF-8", data)
			}
		case refErr == nil:
			if err != nil {
				t.Fatalf("DecodeConfig(%q) = %v; the reference reads it", data, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("DecodeConfig(%q) (-reference +got):\n%s", data, diff)
			}
			var m map[string]json.RawMessage
			_ = json.Unmarshal(data, &m)
			seen := map[string]bool{}
			for _, d := range dups {
				var last bytes.Buffer
				_ = json.Compact(&last, m[d.Key])
				kept := d.Values[len(d.Values)-1]
				if seen[d.Key] || counts[d.Key] != len(d.Values) || !strings.HasPrefix(last.String(), strings.TrimSuffix(kept, "…")) {
					t.Fatalf("DecodeConfig(%q) duplicate %+v: the key occurs %d times, its last value is %s", data, d, counts[d.Key], last.String())
				}
				seen[d.Key] = true
			}
			for k, n := range counts {
				if n > 1 && !seen[k] {
					t.Fatalf("DecodeConfig(%q) does not report %q given %d times", data, k, n)
				}
			}
		case err == nil:
			python := bytes.Contains(data, []byte("NaN")) || bytes.Contains(data, []byte("Infinity"))
			huge := math.IsInf(got.Theta, 0) || math.IsInf(float64(got.Eps), 0)
			if !python && !huge {
				t.Fatalf("DecodeConfig(%q) read what the reference refuses (%v) without Python's literals or a float out of range", data, refErr)
			}
		}
		if err != nil && !errors.Is(err, arch.ErrConfig) {
			t.Fatalf("DecodeConfig(%q) = %v, not wrapping arch.ErrConfig", data, err)
		}
	})
}
