// Package gemma3 is the Gemma 3 text decoder family (config.json
// model_type "gemma3_text", Gemma3ForCausalLM; GGUF architecture
// "gemma3"): google/gemma-3-1b-pt and google/gemma-3-1b-it.
//
// The block is a sandwich: four RMSNorms per layer (input_layernorm
// before attention, post_attention_layernorm on the attention's output
// before the residual add, pre_feedforward_layernorm before the MLP,
// post_feedforward_layernorm on the MLP's output), grouped-query
// attention without biases whose queries and keys are RMS-normalized per
// head (q_norm and k_norm, [head_dim]), and a gated MLP (gate, up, down).
// The two post norms are the components [CompAttnPostNorm] and
// [CompFFNPostNorm] (norms group); input_layernorm is arch's
// CompAttnNorm and pre_feedforward_layernorm its CompFFNNorm. The
// embeddings are tied by default (no lm_head). Five of every six layers
// attend within a sliding window (sliding_window, 512 for the 1B model),
// the sixth over the whole context: the KV cache and attention cost count
// the two kinds apart ([Spec.KVCache], [Spec.AttentionFLOPs]).
//
// Everything the audit knows of the family is here: the config and its
// validation (config.go), the tensor names and shapes of both formats in
// one table (layout.go), the GGUF metadata keys read and written from one
// table (gguf.go), the parameter prediction (predict.go), the block walk
// (walk.go), the published profile and size-label matcher (profiles.go),
// the cost terms and registration (spec.go), and the spot-check's forward
// wiring (forward.go: [arch.Forwarder] and [arch.LayerForwarder], the
// (1 + w) norms, the post norms, the GELU-tanh gate, the attention scale
// query_pre_attn_scalar^−0.5, the √hidden_size embedding scale, the local
// and global layers' RoPE and windows; of a GGUF file the norms as
// llama.cpp's converter stored them, 1 + w).
//
// The multimodal model_type "gemma3" (Gemma3ForConditionalGeneration,
// the 4B, 12B and 27B checkpoints; multimodal.go): its text config nested
// under "text_config" (read with Gemma3TextConfig's defaults), its
// language model's tensors under language_model.model. counted as the
// model, and its SigLIP vision tower and projector predicted tensor by
// tensor and tallied apart ([arch.PartVision]). Their GGUF text files
// (general architecture "gemma3", the vision part split off into an
// mmproj file) are read as the text model.
//
// Primary sources:
//
//   - transformers src/transformers/models/gemma3/configuration_gemma3.py
//     (Gemma3TextConfig: model_type "gemma3_text"; defaults vocab_size
//     262208, head_dim 256, max_position_embeddings 131072, rms_norm_eps
//     1e-6, tie_word_embeddings True, rope_theta 1e6, rope_local_base_freq
//     10000, sliding_window 4096, sliding_window_pattern 6, layer_types
//     "sliding_attention" when (i + 1) % pattern else "full_attention",
//     query_pre_attn_scalar 256, hidden_activation "gelu_pytorch_tanh",
//     final_logit_softcapping and attn_logit_softcapping None);
//   - transformers src/transformers/models/gemma3/modeling_gemma3.py
//     (Gemma3Attention: q_proj nn.Linear(hidden, heads·head_dim), k_proj
//     and v_proj (hidden, kv_heads·head_dim), o_proj (heads·head_dim,
//     hidden), bias config.attention_bias (False), q_norm and k_norm
//     Gemma3RMSNorm(head_dim); Gemma3DecoderLayer: input_layernorm,
//     post_attention_layernorm, pre_feedforward_layernorm,
//     post_feedforward_layernorm; Gemma3TextModel: embed_tokens, norm;
//     Gemma3RMSNorm scales by (1 + weight), in float32;
//     Gemma3TextScaledWordEmbedding multiplies by hidden_size**0.5 cast to
//     the weights' dtype; Gemma3Attention.scaling =
//     query_pre_attn_scalar**-0.5; a rotary embedding per layer type;
//     Gemma3MLP down(act(gate) * up); Gemma3ForCausalLM's soft cap);
//   - llama.cpp gguf-py/gguf/constants.py (MODEL_ARCH.GEMMA3 = "gemma3",
//     tensors TOKEN_EMBD token_embd, OUTPUT output (optional), OUTPUT_NORM
//     output_norm, ATTN_NORM attn_norm, ATTN_Q/K/V attn_q/k/v, ATTN_OUT
//     attn_output, ATTN_Q_NORM attn_q_norm, ATTN_K_NORM attn_k_norm,
//     ATTN_POST_NORM post_attention_norm, FFN_PRE_NORM ffn_norm,
//     FFN_POST_NORM post_ffw_norm, FFN_GATE/UP/DOWN ffn_gate/up/down),
//     tensor_mapping.py (pre_feedforward_layernorm → ffn_norm,
//     post_attention_layernorm → post_attention_norm for Gemma 2 and 3),
//     and convert_hf_to_gguf.py (Gemma3Model, registered for
//     Gemma3ForCausalLM and Gemma3ForConditionalGeneration:
//     set_gguf_parameters writes context_length, embedding_length,
//     block_count, feed_forward_length, attention.head_count,
//     attention.layer_norm_rms_epsilon, attention.key_length and
//     value_length (head_dim), rope.freq_base (rope_theta, for the global
//     layers), attention.sliding_window, attention.head_count_kv, and a
//     linear rope scaling when config.json has one; modify_tensors drops
//     "language_model." and skips vision_tower. and multi_modal_projector.
//     tensors, trims token_embd to the tokenizer's length, and adds 1 to
//     every norm weight); src/llama-model.cpp load_hparams,
//     LLM_ARCH_GEMMA3: set_swa_pattern(6), rope_freq_base_train_swa
//     10000, attention.sliding_window and layer_norm_rms_epsilon read
//     with get_key (required), 26 layers typed 1B, f_attention_scale
//     1/√n_embd_head_k but 1/√(n_embd / n_head) for the 27B type (62
//     layers), final_logit_softcapping read when present;
//     src/models/gemma3.cpp (llm_build_gemma3: the embedding scaled by
//     sqrtf(n_embd), Q pre-scaled by f_attention_scale, the norms' stored
//     weights applied as they are, LLM_FFN_GELU with LLM_FFN_PAR);
//   - the model card and config.json of google/gemma-3-1b-it ("1B";
//     vocab_size 262144, hidden_size 1152, intermediate_size 6912, 26
//     layers, 4 heads, 1 KV head, head_dim 256, sliding_window 512,
//     sliding_window_pattern 6, max_position_embeddings 32768). The
//     exact count worked from it is 999,885,952 (published_test.go).
package gemma3
