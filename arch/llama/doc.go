// Package llama is the Llama decoder family and the models built on its
// block: Llama 2, 3, 3.1, 3.2 and 3.3 (config.json model_type "llama") and
// dense Mistral 7B (model_type "mistral") as family "llama", and Mixtral
// (model_type "mixtral") as family "mixtral". llama.cpp writes all three
// with general.architecture "llama"; the llama family's GGUF reader returns
// a Mixtral spec when llama.expert_count is above 0, so the mixtral family
// registers no GGUF architecture of its own.
//
// One block, two feed-forward kinds: RMSNorm → q/k/v projections (no
// biases, no q/k norms) → rotary embedding → grouped-query attention →
// o_proj → residual; RMSNorm → gated MLP down(silu(gate·x) ⊙ up·x), or
// Mixtral's router and 8 such experts of which 2 run per token → residual.
//
// Everything the audit knows of the family is here: the config, its
// defaults and validation (config.go), the tensor names and shapes of both
// formats in one table (layout.go), the GGUF metadata keys read and
// written from one table (gguf.go), the parameter prediction (predict.go),
// the block shape walk (walk.go), the published profiles, size labels and
// the config.json-against-GGUF comparison (profiles.go), and the cost
// terms and contract (spec.go).
//
// # Obligation ids
//
// Llama and Mistral are held to FALSIFY-LLAMA-001 … -007 and the gate
// F-LLAMA-001; Mixtral to FALSIFY-MIXTRAL-001 … -007 and F-MIXTRAL-001.
// Mistral has no ids of its own: its GGUF file cannot be told from a
// Llama's, and a model must get the same ids in both formats.
//
// # Spot-check forward
//
// The spot-check runs the block as transformers does (forward.go,
// [arch.Forwarder]): the RoPE scaling of rope_scaling ("linear",
// "llama3"; any other declines with [arch.ErrNotApplicable]), Mistral's
// sliding window, Mixtral's renormalized top-k. Of a GGUF file it undoes
// what llama.cpp's converter did: the rows of Q and K reordered for
// llama.cpp's interleaved RoPE (LlamaModel.permute), and the llama3
// scaling stored as the factors of rope_freqs.weight.
//
// # Facts and their sources
//
//   - Tensor names and shapes, Hugging Face: transformers
//     src/transformers/models/llama/modeling_llama.py (LlamaAttention:
//     q_proj [n_h·d_k, d], k_proj and v_proj [n_kv·d_k, d], o_proj
//     [d, n_h·d_k], bias=config.attention_bias; LlamaMLP gate/up [f, d],
//     down [d, f]; input_layernorm, post_attention_layernorm, model.norm,
//     model.embed_tokens, lm_head), models/mistral/ (the same modules),
//     models/mixtral/modeling_mixtral.py (block_sparse_moe.gate [E, d];
//     experts.E.w1 gate [f, d], w3 up [f, d], w2 down [d, f], as the
//     published checkpoints store them).
//   - Config keys and defaults: configuration_llama.py (head_dim
//     hidden_size / num_attention_heads, num_key_value_heads
//     num_attention_heads, rms_norm_eps 1e-6, rope_theta 10000,
//     max_position_embeddings 2048, attention_bias and mlp_bias false),
//     configuration_mistral.py (num_key_value_heads 8,
//     max_position_embeddings 4096·32, sliding_window 4096),
//     configuration_mixtral.py (num_local_experts 8, num_experts_per_tok
//     2, rms_norm_eps 1e-5, rope_theta 1e6, sliding_window None).
//   - GGUF names, shapes and keys: llama.cpp gguf-py/gguf/constants.py
//     (MODEL_ARCH.LLAMA: token_embd, output_norm, output, rope_freqs,
//     attn_norm, attn_q/k/v, attn_output, ffn_gate_inp, ffn_norm,
//     ffn_gate/up/down, ffn_gate/up/down_exps), gguf-py/gguf/tensor_mapping.py
//     (block_sparse_moe.gate → ffn_gate_inp; experts w1/w3/w2 →
//     ffn_gate/up/down_exps), convert_hf_to_gguf.py (LlamaModel registered
//     for LlamaForCausalLM, MistralForCausalLM and MixtralForCausalLM;
//     experts stacked per layer; the Q/K permutation, which keeps shapes;
//     generate_extra_tensors writes rope_freqs.weight, head_dim/2 float32
//     factors, for rope_type "llama3"; set_gguf_parameters writes
//     block_count, context_length, embedding_length, feed_forward_length,
//     attention.head_count(_kv), rope.freq_base,
//     attention.layer_norm_rms_epsilon, expert_count, expert_used_count,
//     key/value_length when config.json has head_dim, vocab_size and
//     rope.dimension_count) and src/llama-model.cpp (LLM_ARCH_LLAMA's
//     tensors in ne order; output falls back to token_embd; rope_freqs
//     {n_rot/2}; experts {n_embd, n_ff, n_expert}; the rms epsilon and
//     context length required, head_count_kv defaulting to head_count).
//   - Published configs: the config.json of meta-llama/Llama-2-7b-hf,
//     meta-llama/Meta-Llama-3-8B, meta-llama/Llama-3.1-8B,
//     meta-llama/Llama-3.2-1B, mistralai/Mistral-7B-v0.1 and
//     mistralai/Mixtral-8x7B-v0.1; their model cards for the published
//     sizes (Mixtral 8x7B: 46.7 B parameters, 12.9 B active per token).
//   - Size labels llama.cpp writes (general.size_label "8.0B", "8x7.2B"):
//     gguf-py/gguf/utility.py size_label.
package llama
