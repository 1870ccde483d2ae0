package safetensors

import "fmt"

// DefaultMaxHeaderLen is the default cap on the JSON header length: 100 MiB.
// (The reference crate caps it at 100,000,000 bytes and huggingface_hub at
// 25,000,000; real headers are well under 1 MiB.)
const DefaultMaxHeaderLen = 100 * 1024 * 1024

// maxDepth bounds JSON nesting wherever arbitrary values are decoded.
const maxDepth = 64

// maxIndexEntries bounds the number of tensors in an index's weight_map.
const maxIndexEntries = 1_000_000

// Option configures [Read] and [Open].
type Option func(*options) error

type options struct {
	maxHeaderLen int64
	partial      bool
}

func makeOptions(opts []Option) (options, error) {
	o := options{maxHeaderLen: DefaultMaxHeaderLen}
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
