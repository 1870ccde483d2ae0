package gemma3

import (
	"encoding/json"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// The multimodal Gemma 3 models (gemma-3-4b, -12b, -27b; config.json
// model_type "gemma3", Gemma3ForConditionalGeneration): the text decoder
// of this package inside, a SigLIP vision tower and a projector beside
// it. The language model is what the audit's totals count; the vision
// tower and the projector are tallied apart ([arch.PartVision]).
//
// Names as the published repositories store them (google/gemma-3-4b-it
// model.safetensors.index.json): the language model under
// "language_model.model." (its embeddings tied: no lm_head), the tower
// under "vision_tower.vision_model." (transformers' SiglipVisionModel:
// embeddings.patch_embedding a conv of [hidden, channels, patch, patch]
// with its bias, embeddings.position_embedding of one row per patch
// position, encoder.layers.N with two LayerNorms, q/k/v/out projections
// and fc1/fc2 each with a bias, post_layernorm), and the projector's
// mm_input_projection_weight [vision hidden, text hidden] and
// mm_soft_emb_norm [vision hidden] (modeling_gemma3.py
// Gemma3MultiModalProjector).

// languagePrefix is where a multimodal checkpoint keeps its language
// model's tensors.
const languagePrefix = "language_model.model."

// MultimodalConfig is a multimodal Gemma 3 config.json: transformers'
// Gemma3Config, the text decoder's config in text_config and the vision
// tower's in vision_config.
type MultimodalConfig struct {
	Architectures    []string      `json:"architectures,omitempty"`
	ModelType        string        `json:"model_type"`
	TextConfig       *Config       `json:"text_config"`
	VisionConfig     *VisionConfig `json:"vision_config"`
	MMTokensPerImage int64         `json:"mm_tokens_per_image,omitempty"`
	TorchDType       string        `json:"torch_dtype,omitempty"`
}

// VisionConfig is the vision tower's config: transformers'
// SiglipVisionConfig.
type VisionConfig struct {
	ModelType         string `json:"model_type,omitempty"`
	HiddenSize        int64  `json:"hidden_size"`
	IntermediateSize  int64  `json:"intermediate_size"`
	NumHiddenLayers   int64  `json:"num_hidden_layers"`
	NumAttentionHeads int64  `json:"num_attention_heads"`
	NumChannels       int64  `json:"num_channels"`
	ImageSize         int64  `json:"image_size"`
	PatchSize         int64  `json:"patch_size"`
}

// parseMultimodal decodes a "gemma3" config.json. Keys text_config and
// vision_config omit take the defaults of Gemma3TextConfig (vocab_size
// 262208, hidden_size 2304, intermediate_size 9216, 26 layers, 8 heads, 4
// KV heads, head_dim 256, and the defaults [ParseConfig] applies) and of
// SiglipVisionConfig (hidden_size 768, intermediate_size 3072, 12 layers,
// 12 heads, 3 channels, image_size 224, patch_size 16): the published
// configs give only what differs from them.
func parseMultimodal(data []byte) (*Config, error) {
	var raw struct {
		Architectures    []string        `json:"architectures"`
		ModelType        string          `json:"model_type"`
		TextConfig       json.RawMessage `json:"text_config"`
		VisionConfig     json.RawMessage `json:"vision_config"`
		MMTokensPerImage int64           `json:"mm_tokens_per_image"`
		TorchDType       string          `json:"torch_dtype"`
	}
	if _, err := arch.DecodeConfig(data, &raw); err != nil {
		return nil, err
	}
	c := textDefaults()
	if len(raw.TextConfig) > 0 {
		if _, err := arch.DecodeConfig(raw.TextConfig, c); err != nil {
			return nil, fmt.Errorf("config key %q: %w", "text_config", err)
		}
	}
	v := &VisionConfig{ModelType: "siglip_vision_model", HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12,
		NumAttentionHeads: 12, NumChannels: 3, ImageSize: 224, PatchSize: 16}
	if len(raw.VisionConfig) > 0 {
		if _, err := arch.DecodeConfig(raw.VisionConfig, v); err != nil {
			return nil, fmt.Errorf("config key %q: %w", "vision_config", err)
		}
	}
	c.mm = &MultimodalConfig{Architectures: raw.Architectures, ModelType: raw.ModelType, TextConfig: c, VisionConfig: v,
		MMTokensPerImage: raw.MMTokensPerImage, TorchDType: raw.TorchDType}
	return c, nil
}

// textDefaults is Gemma3TextConfig with every default, as a nested
// text_config is read.
func textDefaults() *Config {
	c := defaults()
	c.ModelType, c.VocabSize, c.HiddenSize, c.IntermediateSize = "gemma3_text", 262208, 2304, 9216
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads = 26, 8, 4
	return c
}

// validate rejects a vision tower whose dimensions are missing, not
// positive or absurd, whose image does not split into whole patches, or
// whose parameter count overflows, naming the key under vision_config.
func (v *VisionConfig) validate() error {
	if err := arch.CheckDims(
		arch.Dim{Key: "vision_config.hidden_size", Value: v.HiddenSize}, arch.Dim{Key: "vision_config.intermediate_size", Value: v.IntermediateSize},
		arch.Dim{Key: "vision_config.num_hidden_layers", Value: v.NumHiddenLayers, Limit: arch.MaxLayers},
		arch.Dim{Key: "vision_config.num_attention_heads", Value: v.NumAttentionHeads},
		arch.Dim{Key: "vision_config.num_channels", Value: v.NumChannels}, arch.Dim{Key: "vision_config.image_size", Value: v.ImageSize},
		arch.Dim{Key: "vision_config.patch_size", Value: v.PatchSize}); err != nil {
		return err
	}
	if v.ImageSize%v.PatchSize != 0 {
		return fmt.Errorf("%w: vision_config.image_size %d is not a whole number of patches of %d", arch.ErrConfig, v.ImageSize, v.PatchSize)
	}
	if _, ok := checked.Product([]int64{v.HiddenSize, v.NumChannels, v.PatchSize, v.PatchSize, v.NumHiddenLayers}); !ok {
		return fmt.Errorf("%w: vision_config: the parameter count overflows an int64", arch.ErrConfig)
	}
	if n := v.ImageSize / v.PatchSize; n > arch.MaxDim/n {
		return fmt.Errorf("%w: vision_config: %d² patch positions is over the limit", arch.ErrConfig, n)
	}
	return nil
}

// positions is the number of patch positions of an image.
func (v *VisionConfig) positions() int64 { n := v.ImageSize / v.PatchSize; return n * n }

// visionSlots lists the vision tower's and the projector's tensors
// (PartVision), outside the language model's layers.
func (m *MultimodalConfig) visionSlots() []arch.Slot {
	v := m.VisionConfig
	h, f := v.HiddenSize, v.IntermediateSize
	const tower = "vision_tower.vision_model."
	slot := func(name string, comp arch.Component, shape ...int64) arch.Slot {
		return arch.Slot{Name: name, Comp: comp, Shape: shape, Part: arch.PartVision}
	}
	out := []arch.Slot{
		slot(tower+"embeddings.patch_embedding.weight", CompVision, h, v.NumChannels, v.PatchSize, v.PatchSize),
		slot(tower+"embeddings.patch_embedding.bias", CompVision, h),
		slot(tower+"embeddings.position_embedding.weight", CompVision, v.positions(), h),
	}
	for i := range v.NumHiddenLayers {
		p := fmt.Sprintf("%sencoder.layers.%d.", tower, i)
		for _, ln := range []string{"layer_norm1", "layer_norm2"} {
			out = append(out, slot(p+ln+".weight", CompVision, h), slot(p+ln+".bias", CompVision, h))
		}
		for _, proj := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			out = append(out, slot(p+"self_attn."+proj+".weight", CompVision, h, h), slot(p+"self_attn."+proj+".bias", CompVision, h))
		}
		out = append(out, slot(p+"mlp.fc1.weight", CompVision, f, h), slot(p+"mlp.fc1.bias", CompVision, f),
			slot(p+"mlp.fc2.weight", CompVision, h, f), slot(p+"mlp.fc2.bias", CompVision, h))
	}
	return append(out, slot(tower+"post_layernorm.weight", CompVision, h), slot(tower+"post_layernorm.bias", CompVision, h),
		slot("multi_modal_projector.mm_input_projection_weight", CompProjector, h, m.TextConfig.HiddenSize),
		slot("multi_modal_projector.mm_soft_emb_norm.weight", CompProjector, h))
}

// visionParams counts the vision tower and projector in closed form,
// apart from visionSlots: with h the tower's width, f its MLP's, c
// channels, p the patch and n positions, the tower holds h·c·p² + h + n·h,
// per layer 2·2h (LayerNorms) + 4·(h² + h) + 2·f·h + f + h, and 2h for the
// post LayerNorm; the projector h·d + h for the text width d.
func (m *MultimodalConfig) visionParams() int64 {
	v := m.VisionConfig
	h, f := v.HiddenSize, v.IntermediateSize
	layer := 4*h + 4*(h*h+h) + 2*f*h + f + h
	return h*v.NumChannels*v.PatchSize*v.PatchSize + h + v.positions()*h + v.NumHiddenLayers*layer + 2*h +
		h*m.TextConfig.HiddenSize + h
}

// The components of the vision side, in the "other" group: they are not
// the language model's and are tallied as [arch.PartVision].
var (
	CompVision    = arch.DefineComponent("vision_tower", arch.GroupOther)
	CompProjector = arch.DefineComponent("mm_projector", arch.GroupOther)
)

// Gemma3_4B returns the published configuration of
// https://huggingface.co/google/gemma-3-4b-it (config.json): its
// text_config and vision_config give only what differs from the
// defaults.
func Gemma3_4B() *Config {
	c := textDefaults()
	c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.SlidingWindow = 2560, 10240, 34, 1024
	c.RopeScaling = json.RawMessage(`{"factor": 8.0, "rope_type": "linear"}`)
	c.mm = &MultimodalConfig{Architectures: []string{"Gemma3ForConditionalGeneration"}, ModelType: "gemma3", TextConfig: c,
		VisionConfig: &VisionConfig{ModelType: "siglip_vision_model", HiddenSize: 1152, IntermediateSize: 4304, NumHiddenLayers: 27,
			NumAttentionHeads: 16, NumChannels: 3, ImageSize: 896, PatchSize: 14},
		MMTokensPerImage: 256, TorchDType: "bfloat16"}
	return c
}

// TinyMultimodal returns a small multimodal configuration for tests: the
// text decoder of [Tiny] with a two-layer vision tower.
func TinyMultimodal() *Config {
	c := Tiny()
	c.Architectures = nil
	c.mm = &MultimodalConfig{Architectures: []string{"Gemma3ForConditionalGeneration"}, ModelType: "gemma3", TextConfig: c,
		VisionConfig: &VisionConfig{ModelType: "siglip_vision_model", HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
			NumAttentionHeads: 2, NumChannels: 3, ImageSize: 8, PatchSize: 4},
		MMTokensPerImage: 4, TorchDType: "float32"}
	return c
}
