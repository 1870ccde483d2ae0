package deepseek

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture llama.cpp writes for DeepSeek-V2,
// V3 and Kimi K2 (gguf-py/gguf/constants.py, MODEL_ARCH.DEEPSEEK2).
const ggufArch = "deepseek2"

// ggufKeys are the "deepseek2." metadata keys llama.cpp's converter
// writes (convert_hf_to_gguf.py DeepseekV2Model.set_gguf_parameters and
// TextModel.set_gguf_parameters; gguf-py/gguf/constants.py Keys) that
// carry one config field each. The attention widths, whose meaning
// changed when llama.cpp took up MLA's absorption, are read and written
// apart (readWidths, widthKVs).
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	{Key: "expert_used_count", Field: "num_experts_per_tok", Int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, MoE: true, Required: true},
	{Key: "leading_dense_block_count", Field: "first_k_dense_replace", Int: func(c *Config) *int64 { return &c.FirstKDenseReplace }},
	{Key: "attention.kv_lora_rank", Field: "kv_lora_rank", Int: func(c *Config) *int64 { return &c.KVLoraRank }, Required: true},
	{Key: "expert_feed_forward_length", Field: "moe_intermediate_size", Int: func(c *Config) *int64 { return &c.MoEIntermediateSize }, MoE: true, Required: true},
	{Key: "expert_count", Field: "n_routed_experts", Int: func(c *Config) *int64 { return &c.NRoutedExperts }, MoE: true, Required: true},
	{Key: "expert_shared_count", Field: "n_shared_experts", Int: func(c *Config) *int64 { return &c.NSharedExperts }, MoE: true},
	{Key: "expert_weights_scale", Field: "routed_scaling_factor", Float: func(c *Config) *float64 { return &c.RoutedScalingFactor }, MoE: true, Default: 1},
	{Key: "rope.dimension_count", Field: "qk_rope_head_dim", Int: func(c *Config) *int64 { return &c.QKRopeHeadDim }, Required: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// into a Config, as if it came from the config.json the file was
// converted from. The converter writes MLA as one KV head whose key is
// the compressed latent and the rotary part (head_count_kv 1, key_length
// kv_lora_rank + rope dims, value_length kv_lora_rank) and the per-head
// widths apart (key_length_mla, value_length_mla); a file written before
// it did has key_length and value_length the per-head widths and stores
// attn_kv_b whole. num_key_value_heads is the head count (every head has
// its own k and v once kv_b expands them). The multi-token-prediction
// layers are never converted: the Config has none. Errors wrap
// [arch.ErrConfig] and name the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: "deepseek_v3", MoELayerFreq: 1, NGroup: 1, TopkGroup: 1, ScoringFunc: scoringSigmoid, TopkMethod: topkNoAux}
	src, err := ggufKeys.Read(m, c, true)
	if err == nil {
		err = c.readWidths(m)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	if err := c.readRouting(m); err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	c.NumKeyValueHeads = c.NumAttentionHeads
	c.VocabSize = m.VocabSize()
	c.TieWordEmbeddings = m.TiedEmbeddings()
	_, c.legacyKVB = m.Tensor("blk.0.attn_kv_b.weight")
	return c, src, nil
}

// The routing and YaRN keys llama.cpp's converter writes for deepseek2
// (convert_hf_to_gguf.py TextModel.set_gguf_parameters: n_group,
// topk_group, scoring_func; DeepseekV2Model: norm_topk_prob,
// yarn_log_multiplier = 0.1 · mscale_all_dim).
const (
	keyGroupCount     = "expert_group_count"
	keyGroupUsedCount = "expert_group_used_count"
	keyGatingFunc     = "expert_gating_func"
	keyWeightsNorm    = "expert_weights_norm"
)

// The expert_gating_func values (llama.cpp's llama_expert_gating_func_type).
const (
	gatingSoftmax = 1
	gatingSigmoid = 2
)

// readRouting reads the router's keys and the RoPE scaling: n_group and
// topk_group (1 when absent), norm_topk_prob, the scoring function (an
// absent expert_gating_func is llama.cpp's softmax, kept for DeepSeek-V2
// files), and YaRN as llama.cpp runs deepseek2 ([arch.ReadYaRN] with
// mscale_all_dim = yarn_log_multiplier / 0.1 and cos and sin unscaled).
func (c *Config) readRouting(m *arch.GGUFMeta) error {
	for _, k := range []struct {
		key string
		dst *int64
	}{{keyGroupCount, &c.NGroup}, {keyGroupUsedCount, &c.TopkGroup}} {
		v, err := m.Uint(k.key)
		switch {
		case errors.Is(err, gguf.ErrNotFound):
		case err != nil:
			return fmt.Errorf("%s.%s: %w", m.Arch, k.key, err)
		case v > arch.MaxDim:
			return fmt.Errorf("%s.%s: %d is over the limit of %d", m.Arch, k.key, v, arch.MaxDim)
		default:
			*k.dst = int64(v)
		}
	}
	if v, ok := m.Parts[0].Get(m.Arch + "." + keyWeightsNorm); ok {
		c.NormTopkProb, _ = v.AsBool()
	}
	c.ScoringFunc = "softmax"
	if g, err := m.Uint(keyGatingFunc); err == nil && g == gatingSigmoid {
		c.ScoringFunc = scoringSigmoid
	} else if err == nil && g != gatingSoftmax {
		c.ScoringFunc = fmt.Sprintf("expert_gating_func %d", g)
	}
	y, err := arch.ReadYaRN(m)
	if err != nil || y == nil {
		return err
	}
	one := 1.0
	y.AttentionFactor = &one
	if lm, err := m.Float(arch.KeyRopeYaRNLogMultiply); err == nil {
		y.Mscale = lm / 0.1
		y.MscaleAllDim = y.Mscale
	}
	r, err := json.Marshal(struct {
		Type string `json:"type"`
		*arch.YaRN
	}{"yarn", y})
	c.RopeScaling = r
	return err
}

// readWidths reads q_lora_rank (absent: a full q projection) and the
// per-head widths.
func (c *Config) readWidths(m *arch.GGUFMeta) error {
	get := func(key string) (int64, bool, error) {
		v, err := m.Uint(key)
		switch {
		case errors.Is(err, gguf.ErrNotFound):
			return 0, false, nil
		case err != nil:
			return 0, false, fmt.Errorf("%s.%s: %w", m.Arch, key, err)
		case v > arch.MaxDim:
			return 0, false, fmt.Errorf("%s.%s: %d is over the limit of %d", m.Arch, key, v, arch.MaxDim)
		}
		return int64(v), true, nil
	}
	q, ok, err := get("attention.q_lora_rank")
	if err != nil {
		return err
	}
	if ok && q > 0 {
		c.QLoraRank = &q
	}
	kKey, vKey := "attention.key_length_mla", "attention.value_length_mla"
	if _, mla, _ := get(kKey); !mla {
		kKey, vKey = "attention.key_length", "attention.value_length"
	}
	k, okK, err := get(kKey)
	if err != nil {
		return err
	}
	v, okV, err := get(vKey)
	if err != nil {
		return err
	}
	if !okK || !okV {
		return fmt.Errorf("%s.%s and %s.%s: the per-head key and value widths are required", m.Arch, kKey, m.Arch, vKey)
	}
	if k <= c.QKRopeHeadDim {
		return fmt.Errorf("%s.%s: key width %d leaves nothing beside the %d rotary dimensions", m.Arch, kKey, k, c.QKRopeHeadDim)
	}
	c.QKNopeHeadDim, c.VHeadDim = k-c.QKRopeHeadDim, v
	return nil
}

// GGUFArch returns "deepseek2".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "deepseek2." keys as today's converter writes
// them: ggufKeys, q_lora_rank when the model has one, the router's groups,
// gating function and normalization, the YaRN keys, and MLA as one KV
// head (head_count_kv 1, key_length kv_lora_rank + rope dims,
// value_length kv_lora_rank) with the per-head widths in key_length_mla
// and value_length_mla.
func (s *Spec) GGUFMetadata() []gguf.KV {
	c := s.Cfg()
	kvs := ggufKeys.Write(ggufArch, c, c.NRoutedExperts > 0)
	u := func(key string, v int64) gguf.KV {
		return gguf.KV{Key: ggufArch + "." + key, Value: gguf.Uint32(uint32(v))}
	}
	if c.QLoraRank != nil {
		kvs = append(kvs, u("attention.q_lora_rank", *c.QLoraRank))
	}
	if c.NRoutedExperts > 0 {
		gating := uint32(gatingSoftmax)
		if c.ScoringFunc == scoringSigmoid {
			gating = gatingSigmoid
		}
		kvs = append(kvs, u(keyGroupCount, c.NGroup), u(keyGroupUsedCount, c.TopkGroup),
			gguf.KV{Key: ggufArch + "." + keyGatingFunc, Value: gguf.Uint32(gating)})
		if c.NormTopkProb {
			kvs = append(kvs, gguf.KV{Key: ggufArch + "." + keyWeightsNorm, Value: gguf.Bool(true)})
		}
	}
	if arch.RopeKind(c.RopeScaling) == "yarn" {
		if y, err := arch.ParseYaRN(c.RopeScaling); err == nil {
			kvs = append(kvs, arch.YaRNMetadata(ggufArch, y)...)
			if y.MscaleAllDim != 0 {
				kvs = append(kvs, gguf.KV{Key: ggufArch + "." + arch.KeyRopeYaRNLogMultiply, Value: gguf.Float32(float32(0.1 * y.MscaleAllDim))})
			}
		}
	}
	return append(kvs, u("attention.head_count_kv", 1),
		u("attention.key_length", c.KVLoraRank+c.QKRopeHeadDim), u("attention.value_length", c.KVLoraRank),
		u("attention.key_length_mla", c.qkHeadDim()), u("attention.value_length_mla", c.VHeadDim))
}
