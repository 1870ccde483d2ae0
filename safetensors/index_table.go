package safetensors

import (
	"fmt"
	"hash/maphash"
	"iter"
	"maps"
	"math/bits"
	"slices"
)

// The weight_map of an index: a hash table over the entries in document
// order, each a name and the number of its shard. A sharded checkpoint's
// index names tens of thousands of tensors in a few shards; this keeps
// them in about a third of the memory of a map[string]string (which a
// 235B checkpoint's 36,945 names make 2.6 MB, about a tenth of what
// `inspect` touches in all), in one allocation each, without rehashing
// as it grows while the index streams in.

// indexEntry is one weight_map entry.
type indexEntry struct {
	name  string
	shard uint32 // in Index.shards
}

// Slots hold the entry's number plus one (0 is an empty slot) in their low
// slotIndexBits and the top bits of the name's hash above them, so that a
// probe rarely reads an entry that does not match.
const (
	slotIndexBits = 19 // entries+1 <= MaxIndexEntries+1 <= 1<<19
	slotIndexMask = 1<<slotIndexBits - 1
)

var _ [slotIndexMask - MaxIndexEntries - 1]struct{} // MaxIndexEntries+1 fits the slot

// NewIndex returns the index of a weight_map given as a map of tensor
// names to shard file names (its entries in the order of the names), with
// no metadata and TotalSize -1: an index made by hand, for tests and
// writers. The shard names are not checked. It panics with more than
// [MaxIndexEntries] tensors.
func NewIndex(weightMap map[string]string) *Index {
	if len(weightMap) > MaxIndexEntries {
		panic(fmt.Sprintf("safetensors: NewIndex: %d tensors, at most %d", len(weightMap), MaxIndexEntries))
	}
	ix := &Index{TotalSize: -1}
	ix.init(len(weightMap))
	shards := map[string]uint32{}
	for _, name := range slices.Sorted(maps.Keys(weightMap)) {
		s, ok := shards[weightMap[name]]
		if !ok {
			s = ix.addShard(weightMap[name])
			shards[weightMap[name]] = s
		}
		ix.add(name, s)
	}
	return ix
}

// init makes the table empty, sized for about n entries.
func (ix *Index) init(n int) {
	n = max(n, 8)
	ix.entries = make([]indexEntry, 0, n)
	ix.slots = make([]uint32, 1<<bits.Len(uint(n-1))) // a power of two >= n
	ix.seed = maphash.MakeSeed()
}

// addShard records a shard name and returns its number.
func (ix *Index) addShard(name string) uint32 {
	ix.shards = append(ix.shards, name)
	return uint32(len(ix.shards) - 1)
}

// add adds tensor name in shard s, unless the name is there: it reports
// whether it was added. At most MaxIndexEntries entries are added.
func (ix *Index) add(name string, s uint32) bool {
	if 4*(len(ix.entries)+1) > 3*len(ix.slots) {
		ix.grow()
	}
	h := maphash.String(ix.seed, name)
	slot, found := ix.find(name, h)
	if found {
		return false
	}
	ix.entries = append(ix.entries, indexEntry{name: name, shard: s})
	ix.slots[slot] = tag(h) | uint32(len(ix.entries))
	return true
}

// tag returns the bits of a slot that h sets.
func tag(h uint64) uint32 { return uint32(h>>(64-(32-slotIndexBits))) << slotIndexBits }

// find returns the slot of name, whose hash is h, and whether it holds it;
// when not, the slot is the empty one where it would go.
func (ix *Index) find(name string, h uint64) (slot int, found bool) {
	mask := len(ix.slots) - 1
	t := tag(h)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := ix.slots[i]
		switch {
		case s == 0:
			return i, false
		case s&^slotIndexMask == t && ix.entries[s&slotIndexMask-1].name == name:
			return i, true
		}
	}
}

// grow doubles the table.
func (ix *Index) grow() {
	old := ix.slots
	ix.slots = make([]uint32, 2*len(old))
	for _, s := range old {
		if s == 0 {
			continue
		}
		h := maphash.String(ix.seed, ix.entries[s&slotIndexMask-1].name)
		mask := len(ix.slots) - 1
		i := int(h) & mask
		for ix.slots[i] != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = s
	}
}

// Shard returns the shard file the index puts tensor name in.
func (ix *Index) Shard(name string) (shard string, ok bool) {
	if len(ix.slots) == 0 {
		return "", false
	}
	slot, found := ix.find(name, maphash.String(ix.seed, name))
	if !found {
		return "", false
	}
	return ix.shards[ix.entries[ix.slots[slot]&slotIndexMask-1].shard], true
}

// name returns the index's own copy of tensor name, if it names it; ix may
// be nil.
func (ix *Index) name(name string) (string, bool) {
	if ix == nil || len(ix.slots) == 0 {
		return "", false
	}
	slot, found := ix.find(name, maphash.String(ix.seed, name))
	if !found {
		return "", false
	}
	return ix.entries[ix.slots[slot]&slotIndexMask-1].name, true
}

// Len returns the number of tensors the index names.
func (ix *Index) Len() int { return len(ix.entries) }

// All returns an iterator over the tensors the index names and their
// shard files, in the order of the document.
func (ix *Index) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, e := range ix.entries {
			if !yield(e.name, ix.shards[e.shard]) {
				return
			}
		}
	}
}
