package safetensors

import "fmt"

// DefaultMaxHeaderLen is the default cap on the JSON header length: 100 MiB.
// (The reference crate caps it at 100,000,000 bytes and huggingface_hub at
// 25,000,000; real headers are well under 1 MiB.)
const DefaultMaxHeaderLen = 100 * 1024 * 1024

// DefaultMaxTensors is the default cap on the tensors of one file:
// 262,144, as many as an index may name (see [MaxIndexEntries]). Real files
// hold a few thousand at most: a shard of a sharded checkpoint holds a few
// hundred, and a whole model in one file holds all of its tensors.
const DefaultMaxTensors = MaxIndexEntries

// maxDepth bounds JSON nesting wherever arbitrary values are decoded.
const maxDepth = 64

// maxDims caps a tensor's rank: NumPy's limit (NPY_MAXDIMS, 64 since NumPy
// 2). Without it a header of shape [1,1,1,...] would cost eight bytes of
// memory for every two bytes of header.
const maxDims = 64

// maxMetadataEntries caps the entries of "__metadata__". Writers store a
// handful ({"format":"pt"}); LoRA trainers a hundred or so.
const maxMetadataEntries = 1 << 16

// Option configures [Read] and [Open].
type Option func(*options) error

type options struct {
	maxHeaderLen int64
	maxTensors   int
	detach       bool // copy what the File keeps out of the header (set by Read)
	partial      bool
	names        *Index // WithNamesFrom
}

func makeOptions(opts []Option) (options, error) {
	o := options{maxHeaderLen: DefaultMaxHeaderLen, maxTensors: DefaultMaxTensors}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithMaxHeaderLen caps the JSON header length N that the 8-byte prefix may
// announce; a larger N fails with [ErrLimit] before anything is allocated. It
// rejects n <= 0. The default is [DefaultMaxHeaderLen] (100 MiB).
func WithMaxHeaderLen(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("safetensors: WithMaxHeaderLen(%d): must be positive", n)
		}
		o.maxHeaderLen = n
		return nil
	}
}

// WithMaxTensors caps the number of tensors in the header; one more fails
// with [ErrLimit], naming the tensor. It rejects n <= 0. The default is
// [DefaultMaxTensors] (262,144).
func WithMaxTensors(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("safetensors: WithMaxTensors(%d): must be positive", n)
		}
		o.maxTensors = n
		return nil
	}
}

// WithPartialData makes [Read] accept a file whose data section is shorter
// than its header declares, as a download cut short leaves it: File.Missing
// then says how many bytes are missing from the end, and every other rule is
// enforced as usual (the header itself must be complete). Without it such a
// file fails with [ErrTruncated]. The default is false.
func WithPartialData(allow bool) Option {
	return func(o *options) error {
		o.partial = allow
		return nil
	}
}

// WithNamesFrom makes [Read] share the tensor names that ix names with ix
// instead of copying them out of the header: the shards of a sharded
// checkpoint repeat its index's names, which then take memory once. ix
// must not change while Read runs (an Index never does once read). The
// default, nil, copies every name.
func WithNamesFrom(ix *Index) Option {
	return func(o *options) error {
		o.names = ix
		return nil
	}
}
