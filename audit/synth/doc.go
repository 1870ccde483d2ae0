// Package synth synthesizes checkpoint layouts from an architecture
// config: real headers (safetensors shards with their index and config.json,
// or GGUF files with full metadata and tokenizer arrays) and virtual data.
//
// A [Layout] serves its files from memory as a [hub.Mem] source, where every
// byte after a header reads as zero, or writes them to a folder as sparse
// files (header, then a truncate to the full size). Either way the files go
// through exactly the code path real checkpoints take. The built-in
// Qwen3-235B-A22B reference layouts of `weightaudit audit` and `inspect
// --builtin` come from here, as do the large fixtures of tests and
// benchmarks.
package synth
