package deepseek

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a DeepSeek-V3 decoder (and of Kimi K2,
// which ships the same architecture under model_type "kimi_k2") as a
// Hugging Face config.json gives it. Field names follow transformers'
// DeepseekV3Config (models/deepseek_v3/configuration_deepseek_v3.py) and
// the configuration_deepseek.py the model repositories ship.
type Config struct {
	Architectures       []string `json:"architectures,omitempty"`
	ModelType           string   `json:"model_type"`
	VocabSize           int64    `json:"vocab_size"`
	HiddenSize          int64    `json:"hidden_size"`
	IntermediateSize    int64    `json:"intermediate_size"`     // the dense layers' MLP
	MoEIntermediateSize int64    `json:"moe_intermediate_size"` // each routed and shared expert
	NumHiddenLayers     int64    `json:"num_hidden_layers"`
	// NumNextNPredictLayers counts the multi-token-prediction layers
	// stored after the model's own (model.layers.L …), which plain
	// inference does not run.
	NumNextNPredictLayers int64 `json:"num_nextn_predict_layers"`
	NumAttentionHeads     int64 `json:"num_attention_heads"`
	NumKeyValueHeads      int64 `json:"num_key_value_heads"`
	// QLoraRank is the rank of the low-rank query projection (q_a_proj,
	// q_b_proj); nil for a null q_lora_rank, a full q_proj.
	QLoraRank     *int64 `json:"q_lora_rank"`
	KVLoraRank    int64  `json:"kv_lora_rank"`
	QKNopeHeadDim int64  `json:"qk_nope_head_dim"`
	QKRopeHeadDim int64  `json:"qk_rope_head_dim"`
	VHeadDim      int64  `json:"v_head_dim"`
	// The experts: NRoutedExperts of which NumExpertsPerTok run per token,
	// plus NSharedExperts that every token runs (one MLP of
	// n_shared_experts · moe_intermediate_size), in the layers from
	// FirstKDenseReplace on whose index is a multiple of MoELayerFreq.
	NRoutedExperts      int64   `json:"n_routed_experts"`
	NSharedExperts      int64   `json:"n_shared_experts"`
	NumExpertsPerTok    int64   `json:"num_experts_per_tok"`
	FirstKDenseReplace  int64   `json:"first_k_dense_replace"`
	MoELayerFreq        int64   `json:"moe_layer_freq"`
	NGroup              int64   `json:"n_group"`
	TopkGroup           int64   `json:"topk_group"`
	RoutedScalingFactor float64 `json:"routed_scaling_factor"`
	ScoringFunc         string  `json:"scoring_func"`
	TopkMethod          string  `json:"topk_method"`
	NormTopkProb        bool    `json:"norm_topk_prob"`
	RopeTheta           float64 `json:"rope_theta"`
	// RopeScaling is kept as given (YaRN for the published models).
	RopeScaling json.RawMessage `json:"rope_scaling,omitempty"`
	// RopeInterleave says the rotary dimensions of q and k are stored in
	// pairs (2i, 2i + 1); nil means DeepseekV3Config's default, true.
	RopeInterleave        *bool   `json:"rope_interleave,omitempty"`
	RMSNormEps            float64 `json:"rms_norm_eps"`
	MaxPositionEmbeddings int64   `json:"max_position_embeddings"`
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	// QuantizationConfig says how the weights are stored: the published
	// checkpoints are FP8 E4M3 with one float32 scale per 128×128 block.
	QuantizationConfig *arch.QuantConfig `json:"quantization_config,omitempty"`
	TorchDType         string            `json:"torch_dtype,omitempty"`

	// legacyKVB is set for a GGUF file written before llama.cpp split
	// kv_b into attn_k_b and attn_v_b: it stores attn_kv_b whole.
	legacyKVB bool
}

// Defaults of DeepseekV3Config for the keys a config.json may omit.
const (
	defaultQLoraRank   = 1536
	defaultRopeTheta   = 10000
	defaultRMSNormEps  = 1e-6
	defaultMaxPosition = 4096
	defaultScaling     = 1
)

// The scoring functions and top-k methods the published models use.
const (
	scoringSigmoid = "sigmoid"
	topkNoAux      = "noaux_tc"
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]). Fields the file omits keep DeepseekV3Config's
// defaults: q_lora_rank 1536 (a null one is no low-rank query),
// moe_layer_freq 1, n_group and topk_group 1, num_nextn_predict_layers 0,
// rope_theta 10000, rms_norm_eps 1e-6, max_position_embeddings 4096,
// routed_scaling_factor 1, scoring_func "sigmoid", topk_method
// "noaux_tc". The dimensions have no default: a config without one is
// refused by [New]. Errors wrap [arch.ErrConfig] and name the key.
func ParseConfig(data []byte) (*Config, error) {
	q := int64(defaultQLoraRank)
	c := &Config{QLoraRank: &q, MoELayerFreq: 1, NGroup: 1, TopkGroup: 1, RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps,
		MaxPositionEmbeddings: defaultMaxPosition, RoutedScalingFactor: defaultScaling, ScoringFunc: scoringSigmoid, TopkMethod: topkNoAux}
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	var raw struct {
		QLoraRank json.RawMessage `json:"q_lora_rank"`
	}
	if _, err := arch.DecodeConfig(data, &raw); err != nil {
		return nil, err
	}
	if bytes.Equal(raw.QLoraRank, []byte("null")) {
		c.QLoraRank = nil
	}
	return c, nil
}

// qRank returns the query LoRA rank, 0 for a full q_proj.
func (c *Config) qRank() int64 {
	if c.QLoraRank == nil {
		return 0
	}
	return *c.QLoraRank
}

// qkHeadDim is the width of a query or key head: the part without RoPE
// and the rotary part.
func (c *Config) qkHeadDim() int64 { return c.QKNopeHeadDim + c.QKRopeHeadDim }

// Sparse reports whether layer i has routed experts rather than a dense
// MLP: the remote modeling_deepseek.py's rule, i ≥ first_k_dense_replace
// and i a multiple of moe_layer_freq (every layer past the first three
// in DeepSeek-V3, past the first in Kimi K2). A multi-token-prediction
// layer (i ≥ num_hidden_layers) follows the same rule.
func (c *Config) Sparse(i int64) bool {
	return c.NRoutedExperts > 0 && i >= c.FirstKDenseReplace && i%max(c.MoELayerFreq, 1) == 0
}

// quant returns how the weights are stored; [Config.validate] has
// resolved it.
func (c *Config) quant() arch.Quant {
	q, _ := c.QuantizationConfig.Resolve()
	return q
}

// dims lists the dimensions of c with their config keys.
func (c *Config) dims() []arch.Dim {
	ds := []arch.Dim{
		{Key: "vocab_size", Value: c.VocabSize}, {Key: "hidden_size", Value: c.HiddenSize},
		{Key: "num_hidden_layers", Value: c.NumHiddenLayers, Limit: arch.MaxLayers},
		{Key: "num_attention_heads", Value: c.NumAttentionHeads}, {Key: "num_key_value_heads", Value: c.NumKeyValueHeads},
		{Key: "kv_lora_rank", Value: c.KVLoraRank}, {Key: "qk_nope_head_dim", Value: c.QKNopeHeadDim},
		{Key: "qk_rope_head_dim", Value: c.QKRopeHeadDim}, {Key: "v_head_dim", Value: c.VHeadDim},
	}
	if c.QLoraRank != nil {
		ds = append(ds, arch.Dim{Key: "q_lora_rank", Value: *c.QLoraRank})
	}
	if c.FirstKDenseReplace > 0 || c.NRoutedExperts == 0 {
		ds = append(ds, arch.Dim{Key: "intermediate_size", Value: c.IntermediateSize})
	}
	if c.NRoutedExperts > 0 {
		ds = append(ds, arch.Dim{Key: "moe_intermediate_size", Value: c.MoEIntermediateSize},
			arch.Dim{Key: "num_experts_per_tok", Value: c.NumExpertsPerTok})
	}
	return ds
}

// validate rejects configs whose dimensions are missing, not positive or
// absurd, whose routing cannot run (more experts per token than experts,
// groups that do not divide the experts), whose FP8 block is not two
// positive sizes, or whose parameter count overflows an int64, naming the
// key. Every error wraps [arch.ErrConfig].
func (c *Config) validate() error {
	if err := arch.CheckDims(c.dims()...); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{arch.ErrConfig}, args...)...)
	}
	switch {
	case c.NRoutedExperts < 0 || c.NRoutedExperts > arch.MaxDim:
		return bad("n_routed_experts %d is not between 0 and %d", c.NRoutedExperts, arch.MaxDim)
	case c.NSharedExperts < 0 || c.NSharedExperts > arch.MaxDim:
		return bad("n_shared_experts %d is not between 0 and %d", c.NSharedExperts, arch.MaxDim)
	case c.NRoutedExperts > 0 && c.NumExpertsPerTok > c.NRoutedExperts:
		return bad("num_experts_per_tok %d exceeds n_routed_experts %d", c.NumExpertsPerTok, c.NRoutedExperts)
	case c.FirstKDenseReplace < 0 || c.FirstKDenseReplace > c.NumHiddenLayers:
		return bad("first_k_dense_replace %d is not between 0 and num_hidden_layers %d", c.FirstKDenseReplace, c.NumHiddenLayers)
	case c.MoELayerFreq < 1:
		return bad("moe_layer_freq %d is not positive", c.MoELayerFreq)
	case c.NumNextNPredictLayers < 0 || c.NumNextNPredictLayers > 16:
		return bad("num_nextn_predict_layers %d is not between 0 and 16", c.NumNextNPredictLayers)
	case c.NRoutedExperts > 0 && (c.NGroup < 1 || c.NRoutedExperts%c.NGroup != 0):
		return bad("n_group %d does not divide n_routed_experts %d", c.NGroup, c.NRoutedExperts)
	case c.NRoutedExperts > 0 && (c.TopkGroup < 1 || c.TopkGroup > c.NGroup):
		return bad("topk_group %d is not between 1 and n_group %d", c.TopkGroup, c.NGroup)
	}
	if _, err := c.QuantizationConfig.Resolve(); err != nil {
		return err
	}
	// Every dimension is at most 2^20 and the experts too: a layer's
	// widest products (heads · head_dim · d, experts · f · d) stay below
	// 2^63 only when checked, so the sums are.
	p, ok := c.countChecked()
	if !ok || p < 0 {
		return bad("the parameter count of hidden_size %d, vocab_size %d, %d experts and %d layers overflows an int64",
			c.HiddenSize, c.VocabSize, c.NRoutedExperts, c.NumHiddenLayers)
	}
	return nil
}

// countChecked is a layer's widest parameter products and the model's
// total, computed with overflow checks (the exact count is [Config.Predict]).
func (c *Config) countChecked() (int64, bool) {
	d, h := c.HiddenSize, c.NumAttentionHeads
	q, ok1 := checked.Mul(h, c.qkHeadDim())
	o, ok2 := checked.Mul(h, c.VHeadDim)
	attn, ok3 := checked.Mul(q+o+c.KVLoraRank+c.qRank()+c.QKRopeHeadDim+c.KVLoraRank, d+c.qRank()+c.KVLoraRank+h*c.QKNopeHeadDim)
	e, ok4 := checked.Mul(c.NRoutedExperts+c.NSharedExperts+1, 3*c.MoEIntermediateSize+1)
	moe, ok5 := checked.Mul(e, d)
	layer, ok6 := checked.Add(attn, moe+3*c.IntermediateSize*d)
	all, ok7 := checked.Mul(layer, c.NumHiddenLayers+c.NumNextNPredictLayers)
	total, ok8 := checked.Add(all, 4*c.VocabSize*d)
	return total, ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8
}

// problems lists the values of c no DeepSeek-V3 model runs with although
// its tensors can be counted.
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	if c.NRoutedExperts > 0 && c.ScoringFunc != scoringSigmoid && c.ScoringFunc != "softmax" {
		out = append(out, arch.BadValue{Key: "scoring_func", Got: fmt.Sprintf("%q", c.ScoringFunc), Want: `"sigmoid" or "softmax"`})
	}
	return out
}

// ConfigProblems lists what of the spec's configuration no DeepSeek-V3
// model runs with although its tensors can be counted, each naming its
// key: a rope_theta or rms_norm_eps that is not a usable number, a
// context below one position, a scoring function transformers does not
// have. (A quantization scheme the table does not know is not counted at
// all: [New] refuses it with [arch.ErrUnsupportedArch].)
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// fp8 is the quantization_config of the published checkpoints.
func fp8() *arch.QuantConfig {
	return &arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{128, 128}}
}

func rank(n int64) *int64 { return &n }

// yarn40 is the rope_scaling of DeepSeek-V3 and R1.
var yarn40 = json.RawMessage(`{"beta_fast":32,"beta_slow":1,"factor":40,"mscale":1.0,"mscale_all_dim":1.0,"original_max_position_embeddings":4096,"type":"yarn"}`)

// DeepSeekV3 returns the published configuration of
// https://huggingface.co/deepseek-ai/DeepSeek-V3 (config.json; DeepSeek-R1
// and DeepSeek-V3-0324 have the same architecture): FP8 weights with
// 128×128 block scales and one multi-token-prediction layer.
func DeepSeekV3() *Config {
	return &Config{
		Architectures: []string{"DeepseekV3ForCausalLM"}, ModelType: "deepseek_v3",
		VocabSize: 129280, HiddenSize: 7168, IntermediateSize: 18432, MoEIntermediateSize: 2048,
		NumHiddenLayers: 61, NumNextNPredictLayers: 1, NumAttentionHeads: 128, NumKeyValueHeads: 128,
		QLoraRank: rank(1536), KVLoraRank: 512, QKNopeHeadDim: 128, QKRopeHeadDim: 64, VHeadDim: 128,
		NRoutedExperts: 256, NSharedExperts: 1, NumExpertsPerTok: 8, FirstKDenseReplace: 3, MoELayerFreq: 1,
		NGroup: 8, TopkGroup: 4, RoutedScalingFactor: 2.5, ScoringFunc: scoringSigmoid, TopkMethod: topkNoAux, NormTopkProb: true,
		RopeTheta: 10000, RopeScaling: yarn40, RMSNormEps: 1e-6, MaxPositionEmbeddings: 163840,
		QuantizationConfig: fp8(), TorchDType: "bfloat16",
	}
}

// KimiK2 returns the published configuration of
// https://huggingface.co/moonshotai/Kimi-K2-Instruct (config.json): the
// DeepSeek-V3 architecture with 384 experts, 64 heads, one dense layer,
// no expert groups and no multi-token-prediction layer.
func KimiK2() *Config {
	return &Config{
		Architectures: []string{"DeepseekV3ForCausalLM"}, ModelType: "kimi_k2",
		VocabSize: 163840, HiddenSize: 7168, IntermediateSize: 18432, MoEIntermediateSize: 2048,
		NumHiddenLayers: 61, NumAttentionHeads: 64, NumKeyValueHeads: 64,
		QLoraRank: rank(1536), KVLoraRank: 512, QKNopeHeadDim: 128, QKRopeHeadDim: 64, VHeadDim: 128,
		NRoutedExperts: 384, NSharedExperts: 1, NumExpertsPerTok: 8, FirstKDenseReplace: 1, MoELayerFreq: 1,
		NGroup: 1, TopkGroup: 1, RoutedScalingFactor: 2.827, ScoringFunc: scoringSigmoid, TopkMethod: topkNoAux, NormTopkProb: true,
		RopeTheta: 50000, RopeScaling: json.RawMessage(`{"beta_fast":1.0,"beta_slow":1.0,"factor":32.0,"mscale":1.0,"mscale_all_dim":1.0,"original_max_position_embeddings":4096,"type":"yarn"}`),
		RMSNormEps: 1e-6, MaxPositionEmbeddings: 131072, QuantizationConfig: fp8(), TorchDType: "bfloat16",
	}
}

// Tiny returns a small configuration for tests and fixtures with every
// kind of tensor the published models have: low-rank q and kv, one dense
// layer then MoE layers with a shared expert and grouped routing, one
// multi-token-prediction layer, and FP8 block scales on 16×16 blocks.
func Tiny() *Config {
	return &Config{
		Architectures: []string{"DeepseekV3ForCausalLM"}, ModelType: "deepseek_v3",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 48, MoEIntermediateSize: 16,
		NumHiddenLayers: 3, NumNextNPredictLayers: 1, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		QLoraRank: rank(24), KVLoraRank: 16, QKNopeHeadDim: 8, QKRopeHeadDim: 4, VHeadDim: 8,
		NRoutedExperts: 4, NSharedExperts: 1, NumExpertsPerTok: 2, FirstKDenseReplace: 1, MoELayerFreq: 1,
		NGroup: 2, TopkGroup: 1, RoutedScalingFactor: 2.5, ScoringFunc: scoringSigmoid, TopkMethod: topkNoAux, NormTopkProb: true,
		RopeTheta: 10000, RMSNormEps: 1e-6, MaxPositionEmbeddings: 256,
		QuantizationConfig: &arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{16, 16}},
		TorchDType:         "bfloat16",
	}
}
