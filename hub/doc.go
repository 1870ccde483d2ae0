// Package hub says where a checkpoint's bytes come from.
//
// A [Source] lists named files and opens one as an [io.ReaderAt] with its
// size, so the format readers in package gguf and package safetensors read a
// local file ([Dir], [Local]), an in-memory or virtual buffer ([Mem],
// [Virtual]) or a Hugging Face Hub repository over HTTP range requests
// ([HFSource], [OpenHF]) through the same code path; [Resolve] picks one from
// what the user typed. Package hub knows nothing about the formats'
// internals: what it needs of them, how much of a file its header takes,
// the caller passes in ([HeaderFunc]).
//
// Some sources can do more than list and open files: publish their
// digests ([Digester]) or Git blob ids ([GitBlobber]), stream the layers
// some files can only be read through ([LayerStreamer]), store what a
// caller reads in a local cache ([Mirror]). A caller asks a source for
// such a capability with a type assertion, never for its concrete type.
package hub
