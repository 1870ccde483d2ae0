// Package forward holds the numeric kernels of the spot-check forward pass:
// the pieces of one decoder layer of the Llama, Mistral, Mixtral, Qwen2,
// Qwen3, Gemma 3, Phi-3, gpt-oss and DeepSeek-V3 families as Hugging Face transformers computes
// it (see DESIGN.md, "Spot-check forward", and reference/qwen3moe.md, "One
// decoder layer"), assembled by [Block] as a [Config] says.
//
// The kernels are:
//
//   - [MatMul] and [MatVec]: y = W·x over a weight matrix supplied row by
//     row through a [RowSource], so that quantized rows are dequantized on
//     the fly and the whole matrix never exists in memory; [RowRange]
//     slices a fused matrix (Phi-3's qkv_proj, gate_up_proj) by rows and
//     [RowStride] an interleaved one (gpt-oss's gate_up_proj);
//   - [RMSNorm], Gemma's [RMSNormPlusOne] and [HeadNorm] (the per-head q/k
//     norm);
//   - [RoPE]: the rotary embedding, NeoX / rotate-half layout, with the
//     frequencies scaled as a [RopeScaling] says ([NewScaledRoPE]: linear,
//     Llama 3.1's, llama.cpp's frequency factors, Phi-3's LongRoPE, YaRN
//     with [YaRNMscale]), and
//     [Deinterleave], which brings the q and k of a llama-architecture
//     GGUF file back to that layout;
//   - [Softmax], [SiLU] and [SwiGLU], [GELUTanh] and [GeGLU] (Gemma's
//     gate), [SwiGLUOAI] (gpt-oss's clamped gate), [Softcap] (Gemma's
//     final_logit_softcapping);
//   - [Attention], [SlidingAttention], [ScaledAttention] and
//     [SinkAttention] (gpt-oss's per-head sinks): causal grouped-query
//     attention;
//   - [TopK] and [Renormalize], gpt-oss's [TopKSoftmax], and DeepSeek-V3's
//     [Sigmoid] scores with [GroupTopK] (correction bias, expert groups):
//     the MoE router;
//   - DeepSeek-V3's multi-head latent attention ([MLA]), assembled by
//     [Block] from the projections, norms, RoPE and [ScaledAttention].
//
// # Two precisions, one source
//
// Every kernel is generic over [Float], so one source gives a float32 path
// and a float64 path with the same semantics; a caller runs both on the
// same weights and compares them. The float32 path follows transformers run
// in float32: every intermediate is a float32, rounded after each
// operation (products are never fused into multiply-adds, so the results
// are the same on every architecture), including the mean of squares in RMSNorm, the softmax and the
// RoPE tables. The float64 path does the same arithmetic in float64.
// Elementary functions (exp, cos, pow, sqrt) are evaluated in float64 and
// rounded to the element type. Neither path is meant to be bit-identical to
// PyTorch, whose reductions use other summation orders; both are
// deterministic.
//
// [MatMulPair], which runs both paths over each row at once, does their
// dot products on amd64 in AVX assembly (dot_amd64.s) whose vector lanes
// are the portable code's partial sums, with the same roundings in the
// same order: the results are the portable ones bit for bit (build with
// -tags purego for the portable code alone).
//
// Weights (matrix rows and norm weights) are always float32, because that
// is what dequantization yields; the float64 path widens them exactly.
// Activations have the element type T.
//
// # Determinism
//
// Each output element is computed by one goroutine with a fixed summation
// order that depends only on the operands of that element. Results are
// therefore bit-identical whatever the jobs count, and a token's output
// from [MatMul] does not depend on which other tokens are in the batch.
//
// # Errors and ownership
//
// Kernels never panic on bad shapes or parameters: a length that disagrees
// with the shape gives an error wrapping [ErrShape], a bad parameter (an
// odd head dimension, jobs < 1, k out of range) one wrapping [ErrInvalid].
// Destination slices are owned by the caller. The kernels allocate nothing
// except [NewRoPE] and [NewScaledRoPE] (their tables), [Deinterleave] (one
// head's buffer), [TopK], [TopKSoftmax] and [GroupTopK] (their results and
// scratch), a parallel [MatMul]
// (its goroutines) and [Attention] over more than 512 tokens (one score
// buffer). All functions are safe for concurrent use on distinct
// destinations.
package forward
