// Package phi3 is the Phi-3 decoder family (config.json model_type
// "phi3", GGUF architecture "phi3"): microsoft/Phi-3-mini-4k-instruct,
// Phi-3-mini-128k-instruct, Phi-3-medium-4k-instruct and
// Phi-3.5-mini-instruct.
//
// The block is Llama's (RMSNorm, grouped-query attention with rotary
// embeddings, a SwiGLU MLP, no biases) with two projections fused:
// self_attn.qkv_proj.weight holds q, k and v stacked along its output,
// [q + 2·kv, hidden], and mlp.gate_up_proj.weight the gate and up
// projections, [2·intermediate, hidden]. They are the components
// [CompAttnQKV] (attention group) and [CompMLPGateUp] (MLP group). GGUF
// keeps both fused (attn_qkv, and ffn_up holding gate and up). The models
// with a 128k context (Phi-3.5-mini, the -128k ones) scale RoPE with
// LongRoPE; llama.cpp's converter then writes the per-frequency factors
// from config.json as two F32 tensors of head_dim/2, rope_factors_long
// and rope_factors_short, which hold no trained parameters
// ([CompRopeFactors], [arch.PartCompanion]).
//
// Everything the audit knows of the family is here: the config and its
// validation (config.go), the tensor names and shapes of both formats in
// one table (layout.go, with the fused components), the GGUF metadata
// keys read and written from one table (gguf.go), the parameter
// prediction worked from the dimensions (predict.go), the block shape walk
// through the fused projections (walk.go), the published profiles and the
// size-label matcher (profiles.go), the cost terms and registration
// (spec.go), and the spot-check's forward wiring (forward.go:
// [arch.Forwarder], q, k, v and gate, up read as row ranges of the fused
// matrices, LongRoPE with the short factors and the attention factor, the
// sliding window of config.json; of a GGUF file its rope_factors_short and
// rope.scaling.attn_factor, and no window, as llama.cpp runs it).
//
// Primary sources:
//
//   - transformers src/transformers/models/phi3/configuration_phi3.py
//     (Phi3Config: model_type "phi3"; defaults vocab_size 32064,
//     hidden_size 3072, intermediate_size 8192, 32 layers and heads,
//     num_key_value_heads = num_attention_heads when None,
//     max_position_embeddings and original_max_position_embeddings 4096,
//     rms_norm_eps 1e-5, tie_word_embeddings false, sliding_window None,
//     RoPE base 10000; rope type "su" and "yarn" read as "longrope", whose
//     short_factor and long_factor must have head_dim/2 entries);
//   - transformers src/transformers/models/phi3/modeling_phi3.py
//     (Phi3Attention: head_dim from config.head_dim or hidden_size //
//     num_attention_heads, qkv_proj nn.Linear(hidden_size, q + 2·kv,
//     bias=False) sliced q, k, v in that order, o_proj nn.Linear(q,
//     hidden_size, bias=False); Phi3MLP: gate_up_proj nn.Linear(hidden,
//     2·intermediate, bias=False) chunked gate then up, down_proj;
//     Phi3DecoderLayer's input_layernorm and post_attention_layernorm;
//     the attention given config.sliding_window), and
//     modeling_rope_utils.py (_compute_longrope_parameters: the short
//     factors within original_max_position_embeddings, inv_freq = 1 /
//     (factors · base^(2i/d)), attention_factor √(1 + ln s / ln original)
//     for s = max / original > 1, else 1);
//   - llama.cpp at commit c392e5094deaf2d1a7c18683214f007fad3fe42b
//     (2025-02-20): gguf-py/gguf/constants.py (MODEL_ARCH.PHI3 = "phi3"
//     and its tensors token_embd, output_norm, output,
//     rope_factors_long, rope_factors_short, attn_norm, attn_qkv,
//     attn_output, ffn_norm, ffn_up, ffn_down; the list also names
//     attn_q, attn_k and attn_v, which the converter does not write for
//     Phi-3), gguf-py/gguf/tensor_mapping.py (self_attn.qkv_proj →
//     attn_qkv, mlp.gate_up_proj → ffn_up), src/llama-arch.cpp
//     (LLM_ARCH_PHI3 names), src/llama-model.cpp (LLM_ARCH_PHI3:
//     attn_qkv {n_embd, n_embd + 2·n_embd_gqa}, attn_output {n_embd,
//     n_embd}, ffn_up {n_embd, 2·n_ff}, ffn_down {n_ff, n_embd},
//     rope_factors_long and _short {n_embd_head/2}, optional, one copy
//     shared by every layer; output required; the rms epsilon required;
//     a default sliding window for the 4k and 128k models without the
//     key) and convert_hf_to_gguf.py (Phi3MiniModel: the keys of
//     set_gguf_parameters, rope.dimension_count n_embd // n_head,
//     attention.sliding_window 0 for a null one; generate_extra_tensors
//     writes the two factor tensors, F32, for a rope_scaling of type su,
//     longrope or yarn, before the checkpoint's tensors, and
//     rope.scaling.attn_factor); and, of a later llama.cpp,
//     src/models/phi3.cpp (the sliding window disabled, rope_factors_long
//     or _short by the context size, the attention factor applied to the
//     rotation, LLM_FFN_SWIGLU over ffn_up's two halves);
//   - the model cards and config.json of microsoft/Phi-3-mini-4k-instruct
//     ("3.8B parameters"), Phi-3-medium-4k-instruct ("14B") and
//     Phi-3.5-mini-instruct ("3.8B") on huggingface.co. The exact count of
//     Phi-3-mini, 3,821,079,552, is also keras-hub's
//     (keras_hub/src/models/phi3/phi3_presets.py, "params").
//
// llama.cpp creates attn_qkv and attn_output with the query width n_embd,
// so it loads only models whose num_attention_heads·head_dim equals
// hidden_size, as every published Phi-3 has; the audit predicts the
// shapes transformers builds and does not refuse other widths.
package phi3
