// Package qwen2 is the dense Qwen2 decoder family: Qwen2 and Qwen2.5
// (config.json model_type "qwen2", GGUF architecture "qwen2"), e.g.
// Qwen/Qwen2.5-0.5B, Qwen/Qwen2.5-7B and Qwen/Qwen2.5-72B.
//
// The block is Llama's (RMSNorm, grouped-query attention with rotary
// embeddings, a SwiGLU MLP) with a bias on the q, k and v projections:
// self_attn.q_proj.bias of the query width, k_proj.bias and v_proj.bias of
// the key/value width; o_proj has no bias and there are no per-head q/k
// norms (the differences from Qwen3).
//
// Everything the audit knows of the family is here: the config and its
// validation (config.go), the tensor names and shapes of both formats in
// one table (layout.go, with the bias components), the GGUF metadata keys
// read and written from one table (gguf.go), the parameter prediction
// worked from the dimensions (predict.go), the block shape walk (walk.go),
// the published profiles and the size-label matcher (profiles.go), and the
// cost terms and registration (spec.go), and the spot-check's forward
// wiring (forward.go: [arch.Forwarder], the q/k/v biases, per-layer
// sliding windows).
//
// Primary sources:
//
//   - transformers src/transformers/models/qwen2/configuration_qwen2.py
//     (Qwen2Config: the keys and their defaults, rope_theta 10000,
//     rms_norm_eps 1e-6, max_position_embeddings 32768,
//     tie_word_embeddings false, use_sliding_window false, sliding_window
//     4096, max_window_layers 28; sliding_window is None unless
//     use_sliding_window, and layer i is "sliding_attention" when a window
//     is set and i ≥ max_window_layers, unless config.json gives
//     layer_types; transformers 5 moves rope_theta into rope_parameters).
//     The code slides the layers from max_window_layers on, although the
//     Qwen2Config docstring says the bottom layers slide (transformers
//     issue 35896): the audit follows the code;
//   - transformers src/transformers/models/qwen2/modeling_qwen2.py
//     (Qwen2Attention: q_proj, k_proj and v_proj nn.Linear with
//     bias=True, o_proj with bias=False, head_dim from config.head_dim or
//     hidden_size / num_attention_heads; Qwen2MLP without biases;
//     Qwen2DecoderLayer's input_layernorm and post_attention_layernorm);
//   - llama.cpp at commit c392e5094deaf2d1a7c18683214f007fad3fe42b
//     (2025-02-20): gguf-py/gguf/constants.py (MODEL_ARCH.QWEN2 = "qwen2"
//     and its tensor list: token_embd, output_norm, output, attn_norm,
//     attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_down,
//     ffn_up; the list also names rope_freqs, which the converter never
//     writes for Qwen2), src/llama-arch.cpp (the blk.%d. names),
//     src/llama-model.cpp (LLM_ARCH_QWEN2: attn_q/k/v.bias of n_embd and
//     n_embd_gqa, required; output optional, token_embd standing in when
//     it is absent; attention.layer_norm_rms_epsilon and context_length
//     required; head_count_kv defaulting to head_count, key_length to
//     n_embd / n_head, rope.freq_base to 10000; no sliding window) and
//     convert_hf_to_gguf.py (Qwen2Model: the generic keys of
//     Model.set_gguf_parameters, TextModel in later versions;
//     key_length and value_length only when config.json has head_dim);
//   - the model cards and config.json of Qwen/Qwen2.5-0.5B,
//     Qwen/Qwen2.5-7B and Qwen/Qwen2.5-72B on huggingface.co (the cards'
//     parameter counts are compared with the exact ones in
//     published_test.go).
//
// llama.cpp (as of the snapshot read, 2025-02) creates attn_q.weight as
// {n_embd, n_embd}, so it loads only models whose query width
// num_attention_heads·head_dim equals hidden_size, as every published
// Qwen2 and Qwen2.5 model has; the audit predicts the shapes transformers
// builds and does not refuse other widths.
package qwen2
