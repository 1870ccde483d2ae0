// Package checkpoint turns the files of a source into a checkpoint: a set
// of files of one format, every header parsed, and its inventory.
//
// It is the only package that switches on the file format. [Load] finds the
// model files of a [hub.Source] (a safetensors index and its shards, loose
// shards, or a GGUF file or split set), reads every header concurrently and
// never tensor data; [Checkpoint.Inventory] lists every tensor with its
// shape (the format's own order and the logical, outermost-first one),
// type, size, file, offset and layer, and its tallies sum it per layer, per
// dtype and in total. Tensor data is read through a [Reader], converted to
// float32 by the tensor's [Codec]; the encodings of pre-quantized
// Hugging Face weights, whose values need companion tensors, are read as
// rows by [MXFP4Rows] (gpt-oss's blocks and E8M0 scales), [FP8BlockRows]
// (FP8 with block weight_scale_inv) and [IntRows] (GPTQ and AWQ), which
// the spot-check and compare share. Nothing here knows an architecture:
// the arch packages give the inventory its meaning (and say which
// tensors are companions).
package checkpoint
