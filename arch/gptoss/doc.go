// Package gptoss is OpenAI's gpt-oss decoder family (config.json
// model_type "gpt_oss", GGUF architecture "gpt-oss"): gpt-oss-120b and
// gpt-oss-20b.
//
// What sets it apart: biases on every attention projection, one learned
// sink logit per head (self_attn.sinks), sliding-window attention (128
// positions) on every other layer from the first, a router with a bias,
// and every layer's experts stacked in one tensor per projection, gate
// and up fused and interleaved, stored as MXFP4: FP4 (E2M1) values two to
// a byte in *_blocks and one E8M0 exponent per 32 values in *_scales.
// The blocks' stored elements count twice ([arch.Expected] Values 2); the
// scales are companions, no parameters.
//
// The exact counts, worked by hand in published_test.go: gpt-oss-120b
// 116,829,156,672 parameters, 5,711,982,912 active by the seed's
// definition (embedding and lm_head counted) and 5,132,849,472 without
// the input embedding (the model card's 5.13 B); gpt-oss-20b
// 20,914,757,184, 4,187,440,704 and 3,608,307,264 (the card's 20.91 B and
// 3.61 B).
//
// The spot-check runs its block (forward.go: [Spec.Forward] and
// [Spec.LayerForward]) in both formats, the MXFP4 experts decoded by
// checkpoint's shared decoder, with the published models' YaRN
// (transformers' _compute_yarn_parameters; a GGUF file's ramp truncated as
// llama.cpp's is). GGUF files Ollama writes under its own architecture
// name "gptoss" are not read by this family.
//
// Primary sources: transformers models/gpt_oss (configuration_gpt_oss.py,
// modeling_gpt_oss.py) and integrations/mxfp4.py, the config.json and
// model cards of openai/gpt-oss-120b and -20b, llama.cpp
// convert_hf_to_gguf.py (GptOssModel), gguf-py/gguf/constants.py and
// src/llama-model.cpp (LLM_ARCH_OPENAI_MOE), src/models/openai-moe-iswa.cpp
// and src/llama-graph.cpp (build_moe_ffn, LLM_FFN_SWIGLU_OAI_MOE).
package gptoss
