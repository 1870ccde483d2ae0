// Package gguf reads and validates GGUF files, the model format of ggml and
// llama.cpp: the header, the typed metadata key-value pairs, the tensor infos,
// the ggml type table and split (multi-part) sets. It also encodes headers,
// so tests and synthesizers can build files.
//
// The format is specified in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/docs/gguf.md
// and implemented by ggml's src/gguf.cpp at the same commit.
//
// [Read] treats every file as hostile: each count and length is checked
// against the bytes left in the file and a fixed cap (see [Option]) before
// anything is allocated, arithmetic on sizes and offsets is checked, and every
// failure is a [*FormatError] carrying the absolute byte offset of the field
// at fault and the key or tensor it belongs to. [Read] never panics. The
// caps bound the header (64 MiB by default) and its counts (65,536 tensors,
// 65,536 keys), so that any header they admit is read in a small multiple
// of its size: tensor names and keys are copied into shared blocks, and the
// tensor infos are sized once from their count.
//
// Versions 2 and 3 are read (their layouts are identical); version 1 and
// byte-swapped (big-endian) files are rejected with [ErrUnsupportedVersion]
// and [ErrByteOrder].
//
// A [File] describes the header only; tensor bytes are fetched on demand with
// [File.TensorReader] from the same [io.ReaderAt], and [Dequantize] turns
// whole blocks of them into float32, bit-identical to ggml's reference
// dequantization (with [DequantizeRef], the plain version it is fuzzed
// against).
package gguf
