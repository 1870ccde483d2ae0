// Package hub says where a checkpoint's bytes come from.
//
// A [Source] lists named files and opens one as an [io.ReaderAt] with its
// size, so the format readers in package gguf and package safetensors read a
// local file, an in-memory buffer or (later) an HTTP range reader through the
// same code path. Package hub knows nothing about the formats' internals.
package hub
