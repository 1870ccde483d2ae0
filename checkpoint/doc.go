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
// float32 by the tensor's [Codec]. Nothing here knows an architecture: the
// arch packages give the inventory its meaning.
package checkpoint
