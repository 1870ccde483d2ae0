// Package spotcheck runs the weights of a checkpoint: one decoder block,
// or the whole model, on the embedding rows of a few tokens, in float32 and
// in float64 on the same weights and routing, reading only the tensors it
// needs and, of the experts, only those the router picks.
//
// The family's [arch.Forwarder] wires the block kernels of package forward
// (blind to formats and sources) to the checkpoint's tensors, which are
// read through a [checkpoint.Reader] and decoded row by row with each
// tensor's codec. A spec without a Forwarder cannot be spot-checked: [Run]
// returns an error wrapping [arch.ErrNotApplicable].
package spotcheck
