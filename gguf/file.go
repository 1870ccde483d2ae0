package gguf

import "fmt"

// KV is one metadata key-value pair.
type KV struct {
	Key   string
	Value Value
}

// File is the parsed header of a GGUF file. [Read] fills it; its methods
// only read it, so a File is safe for concurrent use as long as nobody
// changes it.
type File struct {
	Version    uint32       // 2 or 3
	Size       int64        // file size in bytes
	KVs        []KV         // metadata, in file order
	Tensors    []TensorInfo // tensor infos, in file order
	Alignment  int64        // general.alignment, or 32 if absent
	DataOffset int64        // absolute offset of the data section (= header size incl. padding)
	// Missing is the number of bytes the tensors reach past the end of the
	// file; nonzero only when [WithPartialData] let a truncated file through.
	Missing int64

	kvIndex     map[string]int // key -> index in KVs, built by Read
	tensorIndex map[string]int // name -> index in Tensors, built by Read
}

// Get returns the value of key.
func (f *File) Get(key string) (Value, bool) {
	if i, ok := f.kvIndex[key]; ok && i < len(f.KVs) && f.KVs[i].Key == key {
		return f.KVs[i].Value, true
	}
	for _, kv := range f.KVs { // f was built or changed by hand
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// get returns the value of key or an error wrapping [ErrNotFound].
func (f *File) get(key string) (Value, error) {
	v, ok := f.Get(key)
	if !ok {
		return Value{}, fmt.Errorf("key %q: %w", key, ErrNotFound)
	}
	return v, nil
}

func wrongType(key string, v Value, want string) error {
	return fmt.Errorf("key %q: %w: is %s, want %s", key, ErrWrongType, describeType(v), want)
}

// describeType names a value's type, with the element type of arrays.
func describeType(v Value) string {
	if v.Type() == ValueArray {
		return "array of " + v.ElemType().String()
	}
	return v.Type().String()
}

// GetString returns the string value of key. The error wraps [ErrNotFound]
// or [ErrWrongType] and names the key.
func (f *File) GetString(key string) (string, error) {
	v, err := f.get(key)
	if err != nil {
		return "", err
	}
	s, ok := v.AsString()
	if !ok {
		return "", wrongType(key, v, "string")
	}
	return s, nil
}

// GetUint returns the value of key, which must be a non-negative integer of
// any width. The error wraps [ErrNotFound] or [ErrWrongType] and names the
// key.
func (f *File) GetUint(key string) (uint64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	x, ok := v.AsUint()
	if !ok {
		return 0, wrongType(key, v, "a non-negative integer")
	}
	return x, nil
}

// GetFloat returns the value of key, which must be a float or an integer.
// The error wraps [ErrNotFound] or [ErrWrongType] and names the key.
func (f *File) GetFloat(key string) (float64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	x, ok := v.AsFloat()
	if !ok {
		return 0, wrongType(key, v, "a number")
	}
	return x, nil
}

// GetStrings returns the value of key, which must be an array of strings.
// The error wraps [ErrNotFound], [ErrWrongType] or [ErrNotKept] and names
// the key.
func (f *File) GetStrings(key string) ([]string, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.Strings()
	if !ok && v.Type() == ValueArray && v.ElemType() == ValueString && !v.Kept() {
		return nil, fmt.Errorf("key %q: %w: %d strings", key, ErrNotKept, v.Len())
	}
	if !ok {
		return nil, wrongType(key, v, "an array of strings")
	}
	return s, nil
}

// Architecture returns general.architecture (e.g. "qwen3moe"), or "" if it
// is absent or not a string.
func (f *File) Architecture() string {
	s, _ := f.GetString("general.architecture")
	return s
}
