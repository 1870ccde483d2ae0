package gguf

import "fmt"

// Default caps. They are far above what real models use and low enough
// that a header at all of them costs well under 256 MiB to read, list and
// check. The largest real headers: about 1,100 tensors (DeepSeek-V3 and
// Kimi-K2, their experts fused; Llama-3.1-405B 1,138), a few dozen keys,
// arrays of 262,144 elements (Gemma 3's vocabulary; Llama 3's merges:
// 280,147), about 10 MB in all.
const (
	defaultMaxStringLen  = 16 << 20 // bytes in one string value
	defaultMaxArrayLen   = 1 << 22  // elements in one array: 4,194,304
	defaultMaxArrayDepth = 4        // nesting levels of arrays
	defaultMaxKVs        = 1 << 16
	defaultMaxHeaderLen  = 64 << 20 // bytes before the data section
	defaultBufferSize    = 64 << 10
	maxBufferSize        = 256 << 20

	// DefaultMaxTensors is the default cap on a header's tensor count:
	// 65,536, sixty times the largest real files'.
	DefaultMaxTensors = 1 << 16

	// maxNestedArrays caps the arrays held in arrays, all keys together:
	// each costs far more memory than the 12 bytes it takes in the file.
	// llama.cpp reads no array of arrays.
	maxNestedArrays = 1 << 16

	// maxNameLen caps keys and tensor names; gguf.md limits keys to 65535
	// bytes.
	maxNameLen = 1<<16 - 1
	// maxDepthCap bounds WithMaxArrayDepth, which bounds recursion.
	maxDepthCap = 64
)

// Option configures [Read] and [Open].
type Option func(*options) error

type options struct {
	maxStringLen  int64
	maxArrayLen   int64
	maxArrayDepth int
	maxTensors    int64
	maxKVs        int64
	maxHeaderLen  int64
	bufferSize    int
	partial       bool
	keptArrayLen  int64 // -1: keep every array's elements
	unhashed      bool  // arrays not kept are not hashed
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		maxStringLen:  defaultMaxStringLen,
		maxArrayLen:   defaultMaxArrayLen,
		maxArrayDepth: defaultMaxArrayDepth,
		maxTensors:    DefaultMaxTensors,
		maxKVs:        defaultMaxKVs,
		maxHeaderLen:  defaultMaxHeaderLen,
		bufferSize:    defaultBufferSize,
		keptArrayLen:  -1,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func positive(name string, n int64) error {
	if n <= 0 {
		return fmt.Errorf("gguf: %s(%d): must be positive", name, n)
	}
	return nil
}

// WithMaxStringLen caps the length in bytes of one metadata string value;
// a longer string fails with [ErrLimit]. n must be positive.
// The default is 16 MiB.
func WithMaxStringLen(n int64) Option {
	return func(o *options) error {
		if err := positive("WithMaxStringLen", n); err != nil {
			return err
		}
		o.maxStringLen = n
		return nil
	}
}

// WithMaxArrayLen caps the number of elements of one metadata array; a
// longer array fails with [ErrLimit]. n must be positive.
// The default is 4 Mi (4,194,304) elements.
func WithMaxArrayLen(n int64) Option {
	return func(o *options) error {
		if err := positive("WithMaxArrayLen", n); err != nil {
			return err
		}
		o.maxArrayLen = n
		return nil
	}
}

// WithMaxArrayDepth caps how deeply metadata arrays may nest: 1 allows arrays
// of scalars only, 2 arrays of such arrays, and so on; deeper nesting fails
// with [ErrLimit]. n must be between 1 and 64. (llama.cpp rejects any array
// of arrays; gguf.md allows them.)
// The default is 4.
func WithMaxArrayDepth(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxDepthCap {
			return fmt.Errorf("gguf: WithMaxArrayDepth(%d): must be between 1 and %d", n, maxDepthCap)
		}
		o.maxArrayDepth = n
		return nil
	}
}

// WithMaxTensors caps the header's tensor count; a larger count fails with
// [ErrLimit]. n must be positive.
// The default is [DefaultMaxTensors] (65,536).
func WithMaxTensors(n int64) Option {
	return func(o *options) error {
		if err := positive("WithMaxTensors", n); err != nil {
			return err
		}
		o.maxTensors = n
		return nil
	}
}

// WithMaxKVs caps the header's metadata key-value count; a larger count
// fails with [ErrLimit]. n must be positive.
// The default is 65,536 pairs.
func WithMaxKVs(n int64) Option {
	return func(o *options) error {
		if err := positive("WithMaxKVs", n); err != nil {
			return err
		}
		o.maxKVs = n
		return nil
	}
}

// WithMaxHeaderLen caps the header: the bytes from the magic to the end of
// the tensor infos. A field that would end past n bytes fails with
// [ErrLimit] (with [ErrTruncated] when the file ends first), before
// anything is allocated for it. Each string, array element, key and
// tensor name is held once in memory, so the cap bounds the memory the
// header takes, together with the caps on its counts. n must be positive.
// The default is 64 MiB.
func WithMaxHeaderLen(n int64) Option {
	return func(o *options) error {
		if err := positive("WithMaxHeaderLen", n); err != nil {
			return err
		}
		o.maxHeaderLen = n
		return nil
	}
}

// WithBufferSize sets the size of the read buffer, which is also the size of
// each ReadAt call Read makes (smaller for files smaller than n). Raise it
// for readers with a high cost per call, such as HTTP range readers without
// read-ahead. n must be between 16 and 256 MiB.
// The default is 64 KiB.
func WithBufferSize(n int) Option {
	return func(o *options) error {
		if n < 16 || n > maxBufferSize {
			return fmt.Errorf("gguf: WithBufferSize(%d): must be between 16 and %d", n, maxBufferSize)
		}
		o.bufferSize = n
		return nil
	}
}

// WithPartialData makes [Read] accept tensors whose data reaches past the
// end of the file, as a download cut short leaves them: File.Missing then
// says how many bytes are missing, and every other rule (alignment,
// overlap, the header itself being complete) is enforced as usual. Without
// it such a file fails with [ErrBounds]. The default is false.
func WithPartialData(allow bool) Option {
	return func(o *options) error {
		o.partial = allow
		return nil
	}
}

// WithKeptArrayLen makes [Read] keep the elements of metadata arrays of at
// most n elements only. A longer array of strings or of fixed-size values
// (a tokenizer's vocabulary, its merges and token types) is read and
// checked as usual (every string's length, every bool byte) but kept as its
// element type, length and a hash of its elements: [Value.Kept] reports
// false for it. Arrays of arrays are kept whole. A reader that needs the
// metadata's keys and array lengths but not the arrays' contents (a
// listing) saves the memory they take: 4 MB of the 5 MB header of a
// 152k-token vocabulary. n must not be negative.
// The default is to keep every array.
func WithKeptArrayLen(n int64) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("gguf: WithKeptArrayLen(%d): must not be negative", n)
		}
		o.keptArrayLen = n
		return nil
	}
}

// WithoutDroppedHash makes [Read] skip hashing the arrays it does not keep
// (see [WithKeptArrayLen]): a quarter of the time it takes to read the
// header of a 152k-token vocabulary. The hash serves [Value.Equal] alone,
// which a reader that never compares two files' metadata (one file, not
// the parts of a split set) does not call; an array read so equals no
// other array. The default is to hash them.
func WithoutDroppedHash() Option {
	return func(o *options) error {
		o.unhashed = true
		return nil
	}
}
