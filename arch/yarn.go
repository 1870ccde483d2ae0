package arch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// YaRN is a rope_scaling of type "yarn" with the keys transformers'
// _compute_yarn_parameters (modeling_rope_utils.py) reads: factor,
// original_max_position_embeddings (absent: max_position_embeddings),
// beta_fast and beta_slow (absent or 0: 32 and 1), attention_factor,
// mscale and mscale_all_dim, truncate (absent: true). The published
// gpt-oss and DeepSeek-V3 configs use it.
type YaRN struct {
	Factor                        float64  `json:"factor"`
	OriginalMaxPositionEmbeddings float64  `json:"original_max_position_embeddings"`
	BetaFast                      float64  `json:"beta_fast"`
	BetaSlow                      float64  `json:"beta_slow"`
	AttentionFactor               *float64 `json:"attention_factor"`
	Mscale                        float64  `json:"mscale"`
	MscaleAllDim                  float64  `json:"mscale_all_dim"`
	Truncate                      *bool    `json:"truncate"`
}

// RopeKind returns the type a rope_scaling object names (rope_type, or
// the older type), "" for none (absent, null, or "default"); an object
// that does not decode names itself.
func RopeKind(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var r struct {
		RopeType string `json:"rope_type"`
		Type     string `json:"type"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Sprintf("rope_scaling %s", raw)
	}
	t := r.RopeType
	if t == "" {
		t = r.Type
	}
	if t == "default" {
		return ""
	}
	return t
}

// ParseYaRN decodes a rope_scaling whose type is "yarn".
func ParseYaRN(raw json.RawMessage) (*YaRN, error) {
	var y YaRN
	if err := json.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("rope_scaling: %w", err)
	}
	return &y, nil
}

// Scaling returns the spot-check's RoPE scaling of y as transformers
// computes it for a model of maxPositions positions: its factor, original
// context (maxPositions when absent), betas (32 and 1 when absent or 0),
// truncate (true when absent) and the attention factor on cos and sin:
// attention_factor when given, else with mscale and mscale_all_dim both
// set YaRNMscale(factor, mscale) / YaRNMscale(factor, mscale_all_dim),
// else YaRNMscale(factor, 1).
func (y *YaRN) Scaling(maxPositions int64) forward.RopeScaling {
	s := forward.RopeScaling{Type: forward.RopeYaRN, Name: "yarn", Factor: y.Factor, OriginalMaxPositions: y.OriginalMaxPositionEmbeddings,
		BetaFast: y.BetaFast, BetaSlow: y.BetaSlow, Truncate: y.Truncate == nil || *y.Truncate}
	if s.OriginalMaxPositions == 0 {
		s.OriginalMaxPositions = float64(maxPositions)
	}
	if s.BetaFast == 0 {
		s.BetaFast = 32
	}
	if s.BetaSlow == 0 {
		s.BetaSlow = 1
	}
	switch {
	case y.AttentionFactor != nil:
		s.AttnFactor = *y.AttentionFactor
	case y.Mscale != 0 && y.MscaleAllDim != 0:
		s.AttnFactor = forward.YaRNMscale(y.Factor, y.Mscale) / forward.YaRNMscale(y.Factor, y.MscaleAllDim)
	default:
		s.AttnFactor = forward.YaRNMscale(y.Factor, 1)
	}
	return s
}

// The GGUF keys of a YaRN scaling (gguf-py/gguf/constants.py Keys.Rope;
// convert_hf_to_gguf.py TextModel.set_gguf_parameters writes the type
// "yarn", the factor, original_context_length, and the betas and
// attention factor when the config has them; DeepseekV2Model writes
// yarn_log_multiplier = 0.1 · mscale_all_dim).
const (
	KeyRopeScalingType     = "rope.scaling.type"
	KeyRopeScalingFactor   = "rope.scaling.factor"
	KeyRopeScalingOrigCtx  = "rope.scaling.original_context_length"
	KeyRopeYaRNBetaFast    = "rope.scaling.yarn_beta_fast"
	KeyRopeYaRNBetaSlow    = "rope.scaling.yarn_beta_slow"
	KeyRopeYaRNAttnFactor  = "rope.scaling.yarn_attn_factor"
	KeyRopeYaRNLogMultiply = "rope.scaling.yarn_log_multiplier"
)

// ReadYaRN reads a YaRN scaling from GGUF metadata: nil when
// rope.scaling.type is not "yarn". llama.cpp always floors and ceils the
// ramp's range (ggml_rope_yarn_corr_dims), so Truncate is true; it
// multiplies cos and sin by yarn_attn_factor (1 when absent) times
// 1 + 0.1·ln(factor) (rope_yarn's mscale), which AttentionFactor holds.
func ReadYaRN(m *GGUFMeta) (*YaRN, error) {
	t, err := m.Parts[0].GetString(m.Arch + "." + KeyRopeScalingType)
	if err != nil || t != "yarn" {
		return nil, nil
	}
	get := func(key string, def float64) (float64, error) {
		v, err := m.Float(key)
		if errors.Is(err, gguf.ErrNotFound) {
			return def, nil
		}
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			err = fmt.Errorf("%v is not finite", v)
		}
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", m.Arch, key, err)
		}
		return v, nil
	}
	y := &YaRN{Truncate: new(bool)}
	*y.Truncate = true
	if y.Factor, err = get(KeyRopeScalingFactor, 0); err != nil {
		return nil, err
	}
	orig, err := m.Uint(KeyRopeScalingOrigCtx)
	if err != nil && !errors.Is(err, gguf.ErrNotFound) {
		return nil, fmt.Errorf("%s.%s: %w", m.Arch, KeyRopeScalingOrigCtx, err)
	}
	y.OriginalMaxPositionEmbeddings = float64(orig)
	if y.BetaFast, err = get(KeyRopeYaRNBetaFast, 32); err != nil {
		return nil, err
	}
	if y.BetaSlow, err = get(KeyRopeYaRNBetaSlow, 1); err != nil {
		return nil, err
	}
	attn, err := get(KeyRopeYaRNAttnFactor, 1)
	if err != nil {
		return nil, err
	}
	attn *= forward.YaRNMscale(y.Factor, 1)
	y.AttentionFactor = &attn
	return y, nil
}

// YaRNMetadata returns the GGUF keys llama.cpp's converter writes for y
// under arch: the type, factor and original context, and the betas and
// attention factor the config gives.
func YaRNMetadata(arch string, y *YaRN) []gguf.KV {
	f := func(key string, v float64) gguf.KV {
		return gguf.KV{Key: arch + "." + key, Value: gguf.Float32(float32(v))}
	}
	kvs := []gguf.KV{{Key: arch + "." + KeyRopeScalingType, Value: gguf.String("yarn")}, f(KeyRopeScalingFactor, y.Factor),
		{Key: arch + "." + KeyRopeScalingOrigCtx, Value: gguf.Uint32(uint32(y.OriginalMaxPositionEmbeddings))}}
	if y.BetaFast != 0 {
		kvs = append(kvs, f(KeyRopeYaRNBetaFast, y.BetaFast))
	}
	if y.BetaSlow != 0 {
		kvs = append(kvs, f(KeyRopeYaRNBetaSlow, y.BetaSlow))
	}
	if y.AttentionFactor != nil {
		kvs = append(kvs, f(KeyRopeYaRNAttnFactor, *y.AttentionFactor))
	}
	return kvs
}

// RopeObject is the object of a config.json that names the RoPE scaling:
// rope_scaling when it names a kind, else transformers 5's rope_parameters.
func RopeObject(scaling, parameters json.RawMessage) json.RawMessage {
	if RopeKind(scaling) != "" {
		return scaling
	}
	return parameters
}

// RopeScalingOf is the spot-check's RoPE scaling for a config's
// rope_scaling object raw: none for no object (or rope_type "default"),
// YaRN as transformers computes it ([YaRN.Scaling]; a config read from
// GGUF carries llama.cpp's reading of it, [ReadRopeScaling]), and any
// other type unsupported, so that the spot-check declines a scaling it
// does not compute rather than run other frequencies than the model's.
func RopeScalingOf(raw json.RawMessage, maxPositions int64) forward.RopeScaling {
	switch t := RopeKind(raw); t {
	case "":
		return forward.RopeScaling{}
	case "yarn":
		y, err := ParseYaRN(raw)
		if err != nil {
			return forward.RopeScaling{Type: forward.RopeUnsupported, Name: err.Error()}
		}
		return y.Scaling(maxPositions)
	default:
		return forward.RopeScaling{Type: forward.RopeUnsupported, Name: t}
	}
}

// ReadRopeScaling reads a GGUF file's rope.scaling keys back as a
// config.json rope_scaling object: YaRN as llama.cpp runs it
// ([ReadYaRN]), another type by name (so that the spot-check declines
// it), nil for none.
func ReadRopeScaling(m *GGUFMeta) (json.RawMessage, error) {
	y, err := ReadYaRN(m)
	if err != nil {
		return nil, err
	}
	var rope any
	if y != nil {
		rope = struct {
			RopeType string `json:"rope_type"`
			*YaRN
		}{"yarn", y}
	} else if t, err := m.Parts[0].GetString(m.Arch + "." + KeyRopeScalingType); err == nil && t != "" && t != "none" {
		rope = struct {
			RopeType string `json:"rope_type"`
		}{t}
	}
	if rope == nil {
		return nil, nil
	}
	return json.Marshal(rope)
}

// RopeScalingMetadata returns the rope.scaling keys llama.cpp's converter
// (convert_hf_to_gguf.py TextModel) writes under arch for the rope_scaling
// object raw: for "yarn" its factor, original context and betas
// ([YaRNMetadata]); another type by name; none for no object.
func RopeScalingMetadata(arch string, raw json.RawMessage) []gguf.KV {
	switch t := RopeKind(raw); t {
	case "":
		return nil
	case "yarn":
		if y, err := ParseYaRN(raw); err == nil {
			return YaRNMetadata(arch, y)
		}
		return nil
	default:
		return []gguf.KV{{Key: arch + "." + KeyRopeScalingType, Value: gguf.String(t)}}
	}
}
