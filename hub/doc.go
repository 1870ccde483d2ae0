// Package hub says where a checkpoint's bytes come from.
//
// A [Source] lists named files and opens one as an [io.ReaderAt] with its
// size, so the format readers in package gguf and package safetensors read a
// local file ([Dir], [Local]), an in-memory or virtual buffer ([Mem],
// [Virtual]) or a Hugging Face Hub repository over HTTP range requests
// ([HFSource], [OpenHF]) through the same code path; [Resolve] picks one from
// what the user typed. Package hub knows nothing about the formats'
// internals.
package hub
