// Package safetensors reads and validates safetensors files, the weight
// format of Hugging Face checkpoints, and their sharded
// model.safetensors.index.json indexes.
//
// A safetensors file is an 8-byte little-endian header length N, a JSON
// header of N bytes, and a data section holding every tensor's bytes. The
// format is described at https://github.com/huggingface/safetensors#format
// and implemented by the reference crate in safetensors/src/tensor.rs.
//
// [Read] takes any [io.ReaderAt] (a local file, an in-memory buffer, an HTTP
// range reader) and parses the header eagerly. It reads only the header:
// 8+N bytes. Every input is treated as hostile: the header length is capped
// ([WithMaxHeaderLen]), allocations are bounded by the header size, sizes are
// computed with overflow checks, and every rule below is enforced:
//
//   - the file holds at least the 8-byte prefix and the N header bytes;
//   - the header is valid UTF-8 JSON whose only value is one object
//     (whitespace around it is allowed: the reference writer pads with spaces);
//   - "__metadata__", when present, is an object of string values;
//   - every other key names a tensor, whose value is an object with exactly
//     the keys "dtype" (a known [DType]), "shape" (non-negative integers) and
//     "data_offsets" ([begin, end], non-negative integers);
//   - no key appears twice, in the header or in an entry;
//   - end-begin equals the element count times the dtype's size, a whole
//     number of bytes, computed without overflow;
//   - sorted by offset, the tensors cover the data section exactly: they start
//     at 0, leave no gap, do not overlap, and end at the end of the file.
//
// Errors are [*FormatError] values carrying the absolute byte offset in the
// file and the field at fault; they wrap one of the category sentinels
// ([ErrTruncated], [ErrLimit], [ErrSyntax], [ErrSchema], [ErrOverflow],
// [ErrSize], [ErrLayout]), so callers test them with [errors.Is] and
// [errors.As].
//
// The header is decoded by a scanner made for this schema rather than by
// encoding/json: it reads the bytes once into a buffer reused from file to
// file, copies the tensor names and metadata out into one block (a header
// over 1 MiB is kept instead, and they are its substrings) and stores all
// shapes in one shared slice. [ReadIndex] drives the same scanner over an index as it streams
// in, 64 KiB at a time, so an index is never held whole: it keeps the
// tensor names (copied into shared blocks) and each shard name once.
package safetensors
