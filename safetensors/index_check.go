package safetensors

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// Shards returns the unique shard names of the index, sorted.
func (ix *Index) Shards() []string {
	out := slices.Clone(ix.shards)
	slices.Sort(out)
	return out
}

// MismatchKind says how an index and its shards disagree.
type MismatchKind int

// The kinds of [Mismatch].
const (
	MissingShard MismatchKind = iota + 1 // a shard the index names was not provided
	NotInShard                           // an indexed tensor is not in the shard the index names
	Unindexed                            // a tensor in a shard is not in the index
	WrongShard                           // an indexed tensor is in another shard than the one named
	Duplicate                            // a tensor is in more than one shard
	TotalSize                            // metadata.total_size differs from the sum of tensor bytes
)

// Mismatch is one disagreement between an index and its shards.
type Mismatch struct {
	// Kind says what disagrees.
	Kind MismatchKind
	// Tensor is the tensor at fault; "" for MissingShard and TotalSize.
	Tensor string
	// Shard is the shard at fault: the shard that was not provided
	// (MissingShard), the shard the index names that lacks the tensor
	// (NotInShard, WrongShard), the shard holding an unindexed tensor
	// (Unindexed), or the shard holding an extra copy (Duplicate); "" for
	// TotalSize.
	Shard string
	// Other is the shard that holds the tensor for WrongShard, and the
	// shard holding the copy that counts for Duplicate: the indexed shard
	// when it has the tensor, else the first by name.
	Other string
	// Want is metadata.total_size and Got the sum of the bytes of every
	// tensor in the shards, for TotalSize.
	Want, Got int64
}

// String returns one sentence that names the tensor and shards.
func (m Mismatch) String() string {
	switch m.Kind {
	case MissingShard:
		return fmt.Sprintf("shard %q is named by the index but was not provided", m.Shard)
	case NotInShard:
		return fmt.Sprintf("tensor %q is indexed to shard %q but is not in it", m.Tensor, m.Shard)
	case Unindexed:
		return fmt.Sprintf("tensor %q in shard %q is not in the index", m.Tensor, m.Shard)
	case WrongShard:
		return fmt.Sprintf("tensor %q is indexed to shard %q but is in shard %q", m.Tensor, m.Shard, m.Other)
	case Duplicate:
		return fmt.Sprintf("tensor %q is in shard %q and again in shard %q", m.Tensor, m.Other, m.Shard)
	case TotalSize:
		return fmt.Sprintf("metadata.total_size is %d bytes but the shards' tensors add up to %d bytes", m.Want, m.Got)
	}
	return fmt.Sprintf("%v: tensor %q, shard %q, other %q", m.Kind, m.Tensor, m.Shard, m.Other)
}

// CheckIndex compares ix with the parsed shards, keyed by shard file name,
// and returns every disagreement sorted by tensor, then shard (then kind and
// other shard), or nil when they agree:
//
//   - MissingShard: a shard the index names is not in shards (or is nil);
//   - NotInShard: an indexed tensor is in no shard, and its indexed shard was
//     provided;
//   - WrongShard: an indexed tensor is not in its indexed shard but in
//     another;
//   - Duplicate: a tensor is in more than one shard (one Mismatch per extra
//     copy);
//   - Unindexed: a tensor in a shard is not in the index;
//   - TotalSize: metadata.total_size is present and differs from the sum of
//     the bytes of every tensor of every shard; checked only when no shard
//     is missing.
//
// Shards the index does not name may be passed; their tensors count as
// Unindexed.
func CheckIndex(ix *Index, shards map[string]*File) []Mismatch {
	if agree, sum := indexAgrees(ix, shards); agree {
		// The common case, in one map lookup per tensor.
		if ix.TotalSize >= 0 && sum != ix.TotalSize {
			return []Mismatch{{Kind: TotalSize, Want: ix.TotalSize, Got: sum}}
		}
		return nil
	}
	var out []Mismatch
	anyMissing := false
	for _, s := range ix.Shards() {
		if shards[s] == nil {
			out = append(out, Mismatch{Kind: MissingShard, Shard: s})
			anyMissing = true
		}
	}
	// Where each tensor is: the first shard by name in first, others in more.
	names := make([]string, 0, len(shards))
	for s, f := range shards {
		if f != nil {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	first := map[string]string{}
	more := map[string][]string{}
	var sum int64
	for _, s := range names {
		for i := range shards[s].Tensors {
			t := &shards[s].Tensors[i]
			if _, ok := first[t.Name]; ok {
				more[t.Name] = append(more[t.Name], s)
			} else {
				first[t.Name] = s
			}
			var ok bool
			if sum, ok = checked.Add(sum, t.Bytes()); !ok {
				sum = math.MaxInt64
			}
		}
	}
	duplicates := func(name, keep string) {
		if s := first[name]; s != keep {
			out = append(out, Mismatch{Kind: Duplicate, Tensor: name, Shard: s, Other: keep})
		}
		for _, s := range more[name] {
			if s != keep {
				out = append(out, Mismatch{Kind: Duplicate, Tensor: name, Shard: s, Other: keep})
			}
		}
	}
	for name, want := range ix.All() {
		at, found := first[name]
		switch {
		case !found:
			if shards[want] != nil {
				out = append(out, Mismatch{Kind: NotInShard, Tensor: name, Shard: want})
			}
		case at == want || slices.Contains(more[name], want):
			duplicates(name, want)
		default:
			out = append(out, Mismatch{Kind: WrongShard, Tensor: name, Shard: want, Other: at})
			duplicates(name, at)
		}
	}
	for name, at := range first {
		if _, ok := ix.Shard(name); ok {
			continue
		}
		out = append(out, Mismatch{Kind: Unindexed, Tensor: name, Shard: at})
		for _, s := range more[name] {
			out = append(out, Mismatch{Kind: Unindexed, Tensor: name, Shard: s})
		}
		duplicates(name, at)
	}
	if ix.TotalSize >= 0 && !anyMissing && sum != ix.TotalSize {
		out = append(out, Mismatch{Kind: TotalSize, Want: ix.TotalSize, Got: sum})
	}
	slices.SortFunc(out, func(a, b Mismatch) int {
		return cmp.Or(
			strings.Compare(a.Tensor, b.Tensor),
			strings.Compare(a.Shard, b.Shard),
			cmp.Compare(a.Kind, b.Kind),
			strings.Compare(a.Other, b.Other),
		)
	})
	return out
}

// indexAgrees reports whether every tensor of every shard is indexed to
// that shard and every indexed tensor was found so, and returns the sum of
// the tensors' bytes. A name cannot match twice (a shard holds each name
// once and the index names one shard per tensor), so matches equal to both
// counts mean the index and shards agree exactly. A checkpoint of many
// tensors is checked on two cores, half of the shards each: the lookups
// are most of CheckIndex's time, and it runs after every header is read.
func indexAgrees(ix *Index, shards map[string]*File) (bool, int64) {
	names := make([]string, 0, len(shards))
	tensors := 0
	for s, f := range shards {
		if f == nil {
			return false, 0
		}
		names = append(names, s)
		tensors += len(f.Tensors)
	}
	var a, b agreement
	if half := len(names) / 2; tensors >= parallelAgree && half > 0 && runtime.GOMAXPROCS(0) > 1 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			b = agrees(ix, shards, names[half:])
		}()
		a = agrees(ix, shards, names[:half])
		<-done
	} else {
		a, b = agrees(ix, shards, names), agreement{ok: true}
	}
	if !a.ok || !b.ok {
		return false, 0
	}
	sum, ok := checked.Add(a.sum, b.sum)
	if !ok {
		sum = math.MaxInt64
	}
	return a.matched+b.matched == int64(ix.Len()), sum
}

// parallelAgree is the number of tensors from which indexAgrees checks
// them on two cores: the 235B layouts have 37,000 to 94,000.
const parallelAgree = 8192

// agreement is what agrees found of some shards: whether each of their
// tensors is indexed to its shard, how many there are, and their bytes
// (math.MaxInt64 when they overflow).
type agreement struct {
	ok           bool
	matched, sum int64
}

// agrees checks the named shards' tensors against ix (see indexAgrees).
func agrees(ix *Index, shards map[string]*File, names []string) agreement {
	r := agreement{ok: true}
	for _, s := range names {
		f := shards[s]
		for i := range f.Tensors {
			t := &f.Tensors[i]
			if want, _ := ix.Shard(t.Name); want != s {
				return agreement{}
			}
			r.matched++
			var ok bool
			if r.sum, ok = checked.Add(r.sum, t.Bytes()); !ok {
				r.sum = math.MaxInt64
			}
		}
	}
	return r
}
