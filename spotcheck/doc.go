// Package spotcheck runs the weights of a checkpoint: one decoder block,
// or the whole model, on the embedding rows of a few tokens, in float32 and
// in float64 on the same weights and routing, reading only the tensors it
// needs and, of the experts, only those the router picks.
//
// The family's [arch.Forwarder] wires the block kernels of package forward
// (blind to formats and sources) to the checkpoint's tensors, which are
// read through a [checkpoint.Reader] and decoded row by row with each
// tensor's codec, or by the checkpoint's decoders of the encodings
// pre-quantized releases use, which compare shares: gpt-oss's Hugging
// Face MXFP4 experts ([checkpoint.MXFP4Rows]), FP8 weights with their
// 128×128 block weight_scale_inv ([checkpoint.FP8BlockRows]: each row's
// codes read as needed, the scales once), GPTQ and AWQ int4/int8
// ([checkpoint.IntRows]: the packed weight with its zeros, scales and
// g_idx read whole once, its packing running across rows), always with
// the companions of the chosen experts only. gpt-oss's dequantized
// experts, stored [in, out], are read whole per expert and transposed. A
// spec without a Forwarder cannot be spot-checked, nor
// can one whose configuration names what the kernels do not compute (a
// RoPE scaling they lack, forward.Config's Unsupported): [Run] returns an
// error wrapping [arch.ErrNotApplicable] rather than compute another
// block than the model's.
//
// # Dead blocks
//
// Weights that run without error may still compute nothing: a checkpoint
// whose data is zeros, a router stored as zeros. [Run] records each sign
// of such a dead block it meets in [Result.Dead], and a result with any
// does not pass: embedding rows of the chosen tokens that are all zero; a
// router whose logits are all equal (every expert tied) in a layer it ran;
// a layer whose output equals its input (it adds nothing); and an output
// (the block's, or the logits with Full) with a row that is non-finite,
// zero or constant, or the same for every token although their embedding
// rows differ. Values count as equal within [DeadTolerance].
package spotcheck
