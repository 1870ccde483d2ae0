package phi3_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/phi3"
)

// A config.json reads with Phi3Config's defaults, the LongRoPE scaling
// under either key, and its problems named by key.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		factors  bool     // RopeFactors
		kv, hd   int64    // num_key_value_heads, head_dim read
		problems []string // the fields ConfigProblems names
		err      string   // the key an error names
	}{
		{name: "defaults", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4}`,
			kv: 4, hd: 8},
		{name: "su is longrope", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
			"rope_scaling":{"type":"su","long_factor":[1,1,1,1],"short_factor":[1,1,1,1]}}`, factors: true, kv: 4, hd: 8},
		{name: "rope_parameters", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
			"rope_parameters":{"rope_type":"longrope","rope_theta":10000}}`, factors: true, kv: 4, hd: 8},
		{name: "factors of the wrong length", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
			"num_key_value_heads":2,"rope_scaling":{"type":"longrope","long_factor":[1,1,1],"short_factor":[1,1,1,1]}}`, factors: true, kv: 2, hd: 8,
			problems: []string{"rope_scaling"}},
		{name: "an unknown scaling", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
			"rope_scaling":{"type":"linear"},"rms_norm_eps":-1}`, kv: 4, hd: 8, problems: []string{"rms_norm_eps", "rope_scaling"}},
		{name: "heads that do not group", json: `{"model_type":"phi3","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3}`,
			err: "num_key_value_heads"},
		{name: "no hidden_size", json: `{"model_type":"phi3","vocab_size":64,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4}`,
			err: "hidden_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := arch.FromConfig([]byte(tt.json))
			if tt.err != "" {
				if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("FromConfig = %v, want arch.ErrConfig naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := spec.Config().(*phi3.Config)
			if c.RopeFactors() != tt.factors || c.NumKeyValueHeads != tt.kv || c.HeadDim != tt.hd || c.RMSNormEps == 0 || c.OriginalMaxPositionEmbeddings != 4096 {
				t.Errorf("config %+v: factors %v, kv %d, head_dim %d; want %v, %d, %d", c, c.RopeFactors(), c.NumKeyValueHeads, c.HeadDim, tt.factors, tt.kv, tt.hd)
			}
			var problems []string
			for _, p := range spec.(arch.ConfigChecker).ConfigProblems() {
				problems = append(problems, p.Field)
			}
			if strings.Join(problems, ",") != strings.Join(tt.problems, ",") {
				t.Errorf("ConfigProblems fields = %v, want %v", problems, tt.problems)
			}
		})
	}
}

// Recognize finds the profile by dimensions and by the name's label, and
// says when the two disagree.
func TestRecognize(t *testing.T) {
	mini := phi3.MustNew(phi3.Phi3_5Mini())
	if r := mini.Recognize("microsoft/Phi-3.5-mini-instruct"); r.Profile == nil || r.Profile.Name != "Phi-3-mini" || r.Label != "mini" || len(r.Conflicts) != 0 {
		t.Errorf("Recognize(Phi-3.5-mini) = %+v, want Phi-3-mini by dimensions and label, no conflicts", r)
	}
	if r := mini.Recognize("Phi-3-medium-4k-instruct"); r.Profile == nil || r.Profile.Name != "Phi-3-mini" || len(r.Conflicts) != 1 {
		t.Errorf("Recognize(mini dims, medium name) = %+v, want Phi-3-mini and one conflict", r)
	}
	if r := phi3.MustNew(phi3.Tiny()).Recognize("tiny-14B"); r.Profile == nil || r.Profile.Name != "Phi-3-medium" || r.ByDims != nil {
		t.Errorf("Recognize(tiny, 14B) = %+v, want Phi-3-medium by label only", r)
	}
}
