package gguf

import (
	"fmt"
	"strconv"
	"strings"
)

// Split-set keys, as llama.cpp's gguf-split writes them.
const (
	KeySplitNo           = "split.no"            // u16, 0-based index of this part
	KeySplitCount        = "split.count"         // u16, number of parts
	KeySplitTensorsCount = "split.tensors.count" // i32, tensors over all parts
)

// SplitName returns the file name of part no (1-based) of count parts,
// "<prefix>-00001-of-00005.gguf", as llama.cpp's llama_split_path spells it.
func SplitName(prefix string, no, count int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, no, count)
}

// ParseSplitName is the inverse of [SplitName]: for
// "dir/model-00002-of-00005.gguf" it returns "dir/model", 2, 5. ok is false
// unless name ends in "-NNNNN-of-NNNNN.gguf" with five-digit numbers,
// 1 <= no <= count, after a non-empty prefix.
func ParseSplitName(name string) (prefix string, no, count int, ok bool) {
	const tail = len("-00001-of-00005.gguf")
	if len(name) <= tail || !strings.HasSuffix(name, ".gguf") {
		return "", 0, 0, false
	}
	prefix, t := name[:len(name)-tail], name[len(name)-tail:]
	if t[0] != '-' || t[6:10] != "-of-" {
		return "", 0, 0, false
	}
	no, ok1 := digits5(t[1:6])
	count, ok2 := digits5(t[10:15])
	if !ok1 || !ok2 || no < 1 || no > count {
		return "", 0, 0, false
	}
	return prefix, no, count, true
}

func digits5(s string) (int, bool) {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// CheckSplit checks that parts, in order, form one split set: every part has
// split.no (u16) equal to its index, split.count (u16) equal to len(parts)
// and split.tensors.count (i32) equal in every part and to the number of
// tensors over all parts, no tensor name occurs in two parts, and a
// metadata key a later part repeats has the first part's value. A single
// part without any split.* key is an unsplit file and passes.
//
// The error is a [*SplitError] naming the part and the key or tensor; it
// wraps [ErrSplit], [ErrNotFound], [ErrWrongType] or [ErrDuplicate].
func CheckSplit(parts []*File) error {
	if len(parts) == 0 {
		return fmt.Errorf("gguf: %w: no parts", ErrSplit)
	}
	for i, p := range parts {
		if p == nil {
			return &SplitError{i, "file", fmt.Errorf("%w: nil part", ErrSplit)}
		}
	}
	if len(parts) == 1 && !hasSplitKeys(parts[0]) {
		return nil
	}
	total, want := 0, int64(0)
	owner := make(map[string]int)
	for i, p := range parts {
		no, err := splitKey(p, i, KeySplitNo, ValueUint16)
		if err != nil {
			return err
		}
		if no != int64(i) {
			return &SplitError{i, keyField(KeySplitNo), fmt.Errorf("%w: is %d, want %d (0-based position in the set)", ErrSplit, no, i)}
		}
		count, err := splitKey(p, i, KeySplitCount, ValueUint16)
		if err != nil {
			return err
		}
		if count != int64(len(parts)) {
			return &SplitError{i, keyField(KeySplitCount), fmt.Errorf("%w: is %d, but %d parts given", ErrSplit, count, len(parts))}
		}
		tc, err := splitKey(p, i, KeySplitTensorsCount, ValueInt32)
		if err != nil {
			return err
		}
		if i == 0 {
			want = tc
		} else if tc != want {
			return &SplitError{i, keyField(KeySplitTensorsCount), fmt.Errorf("%w: is %d, part 0 says %d", ErrSplit, tc, want)}
		}
		for _, t := range p.Tensors {
			if j, dup := owner[t.Name]; dup {
				return &SplitError{i, tensorField(t.Name), fmt.Errorf("%w: also in part %d", ErrDuplicate, j)}
			}
			owner[t.Name] = i
		}
		total += len(p.Tensors)
	}
	if int64(total) != want {
		return &SplitError{0, keyField(KeySplitTensorsCount), fmt.Errorf("%w: is %d, but the parts hold %d tensors", ErrSplit, want, total)}
	}
	// llama.cpp's gguf-split writes the metadata into the first part; a
	// key a later part repeats must have the first part's value, or the
	// parts come from different models.
	for i, p := range parts[1:] {
		for _, kv := range p.KVs {
			if strings.HasPrefix(kv.Key, "split.") {
				continue
			}
			if v0, ok := parts[0].Get(kv.Key); ok && !v0.Equal(kv.Value) {
				return &SplitError{i + 1, keyField(kv.Key), fmt.Errorf("%w: is %s, part 0 says %s: the parts come from different models", ErrSplit, kv.Value, v0)}
			}
		}
	}
	return nil
}

func hasSplitKeys(f *File) bool {
	for _, k := range []string{KeySplitNo, KeySplitCount, KeySplitTensorsCount} {
		if _, ok := f.Get(k); ok {
			return true
		}
	}
	return false
}

// splitKey returns the integer value of key in part i, which must have
// type want.
func splitKey(p *File, i int, key string, want ValueType) (int64, error) {
	v, ok := p.Get(key)
	if !ok {
		return 0, &SplitError{i, keyField(key), ErrNotFound}
	}
	if v.Type() != want {
		return 0, &SplitError{i, keyField(key), fmt.Errorf("%w: is %s, want %v", ErrWrongType, describeType(v), want)}
	}
	x, _ := v.AsInt()
	return x, nil
}
