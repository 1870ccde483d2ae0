// Package deepseek is the DeepSeek-V3 decoder family: DeepSeek-V3 and R1
// (config.json model_type "deepseek_v3") and Moonshot's Kimi K2
// ("kimi_k2", the same architecture), GGUF architecture "deepseek2".
//
// What sets it apart: multi-head latent attention (low-rank q through
// q_a_proj and q_b_proj, keys and values through one compressed latent
// kv_a_proj_with_mqa expanded per head by kv_b_proj, a rotary part shared
// by every head), first_k_dense_replace dense layers before the MoE ones,
// a router with a score-correction bias, shared experts every token runs,
// multi-token-prediction layers shipped after the model's own
// (Prediction.MTP, counted apart), and FP8 weights with one float32
// weight_scale_inv per 128×128 block (Prediction.Companions, no
// parameters). llama.cpp's GGUF drops the multi-token-prediction layers,
// stacks the experts and splits kv_b into attn_k_b and attn_v_b.
//
// The exact counts, worked by hand in published_test.go:
// DeepSeek-V3 671,026,419,200 parameters (37,552,297,472 active by the
// seed's definition, 36,625,618,432 without the input embedding: the
// model card's 36.6 B), 11,610,068,224 in its multi-token-prediction
// layer plus 1,853,358,080 in that layer's embedding and head copies, and
// 41,540,496 block scales: 684,531,386,000 elements in 91,991 tensors, the
// figures a listing of the published DeepSeek-R1 files gives. Kimi K2
// 1,026,408,232,448 parameters.
//
// The spot-check runs its block (forward.go: multi-head latent attention,
// YaRN, the sigmoid router with its correction bias and expert groups, the
// shared experts) from transformers' modeling_deepseek_v3.py, in both
// formats.
//
// Primary sources: the configuration_deepseek.py and modeling_deepseek.py
// of huggingface.co/deepseek-ai/DeepSeek-V3, transformers
// models/deepseek_v3, the DeepSeek-V3 model card and README_WEIGHTS.md
// (671 B main model, 36.6 B activated, MTP module), llama.cpp
// convert_hf_to_gguf.py (DeepseekV2Model), gguf-py/gguf/constants.py and
// src/llama-model.cpp (LLM_ARCH_DEEPSEEK2), and the config.json of
// moonshotai/Kimi-K2-Instruct (its rope_scaling as recalled, not checked
// at the source: nothing is counted from it).
package deepseek
