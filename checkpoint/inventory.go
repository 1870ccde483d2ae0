package checkpoint

import (
	"strconv"
	"strings"
)

// Format names a checkpoint's file format.
type Format string

// The formats weightaudit reads.
const (
	FormatSafetensors Format = "safetensors"
	FormatGGUF        Format = "gguf"
)

// Tensor is one inventory entry: a tensor as stored, wherever it is.
type Tensor struct {
	Name    string
	Shape   []int64 // the format's own order: outermost first (safetensors), ne order (GGUF)
	Logical []int64 // outermost first in both formats, so that one model's two formats compare equal
	DType   string  // the format's own type name: "BF16", "Q4_K"
	Params  int64   // number of elements
	Bytes   int64   // bytes stored
	File    string  // the file holding it, relative to the source
	Offset  int64   // absolute byte offset of its data in File
	Layer   int     // decoder layer parsed from the name, -1 for none
}

// FileEntry is one file of a checkpoint.
type FileEntry struct {
	Name        string
	Size        int64
	HeaderBytes int64 // bytes of the file taken by the header (safetensors 8+N, GGUF up to the data section)
	Missing     int64 // tensor data the header declares past the end of the file (see WithPartialFiles)
}

// Inventory lists every tensor of a checkpoint, in file order and within a
// file in the order of the data.
type Inventory struct {
	Format  Format
	Files   []FileEntry
	Tensors []Tensor
}

// LayerTally sums the tensors of one layer; Layer -1 holds the tensors
// outside the decoder layers (embedding, final norm, lm_head).
type LayerTally struct {
	Layer   int
	Tensors int
	Params  int64
	Bytes   int64
}

// DTypeTally sums the tensors of one dtype.
type DTypeTally struct {
	DType   string
	Tensors int
	Params  int64
	Bytes   int64
}

// Totals sums the whole inventory.
type Totals struct {
	Files       int
	Tensors     int
	Params      int64
	Bytes       int64
	FileBytes   int64
	HeaderBytes int64
}

// Layers tallies the inventory per layer, sorted by layer with -1 (the
// tensors outside any layer) first.
func (inv *Inventory) Layers() []LayerTally {
	return layerTallies(tallyBy(inv, func(t *Tensor) int { return t.Layer }))
}

// DTypes tallies the inventory per dtype, largest byte count first.
func (inv *Inventory) DTypes() []DTypeTally {
	return dtypeTallies(tallyBy(inv, func(t *Tensor) string { return t.DType }))
}

type tally struct {
	tensors       int
	params, bytes int64
}

func (a *tally) add(params, bytes int64) {
	a.tensors++
	a.params += params
	a.bytes += bytes
}

// tallyBy sums the inventory's tensors grouped by key.
func tallyBy[K comparable](inv *Inventory, key func(*Tensor) K) map[K]*tally {
	m := map[K]*tally{}
	for i := range inv.Tensors {
		t := &inv.Tensors[i]
		at(m, key(t)).add(t.Params, t.Bytes)
	}
	return m
}

// Totals sums the inventory.
func (inv *Inventory) Totals() Totals {
	t := Totals{Files: len(inv.Files), Tensors: len(inv.Tensors)}
	for i := range inv.Tensors {
		t.Params += inv.Tensors[i].Params
		t.Bytes += inv.Tensors[i].Bytes
	}
	for _, f := range inv.Files {
		t.FileBytes += f.Size
		t.HeaderBytes += f.HeaderBytes
	}
	return t
}

// LayerOf parses the decoder layer index from a tensor name in either
// naming scheme: "model.layers.N." (Hugging Face; also "layers.N." after any
// prefix) or "blk.N." (GGUF). It returns -1 when the name has none.
func LayerOf(name string) int {
	for _, marker := range []string{"layers.", "blk."} {
		i := strings.Index(name, marker)
		for i >= 0 {
			if i == 0 || name[i-1] == '.' {
				rest := name[i+len(marker):]
				j := 0
				for j < len(rest) && j < 9 && rest[j] >= '0' && rest[j] <= '9' {
					j++
				}
				if j > 0 && (j == len(rest) || rest[j] == '.') {
					n, err := strconv.Atoi(rest[:j])
					if err == nil {
						return n
					}
				}
			}
			next := strings.Index(name[i+1:], marker)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return -1
}

// reversed returns dims reversed, appended to *buf: the dims of many
// tensors share the buffer's chunks rather than taking an allocation each.
// A chunk is never written again once it is full, so the returned slice
// (its capacity clipped) stays as it is.
func reversed(buf *[]int64, dims []int64) []int64 {
	if dims == nil {
		return nil
	}
	b := *buf
	if cap(b)-len(b) < len(dims) {
		b = make([]int64, 0, max(dimsChunk, len(dims)))
	}
	start := len(b)
	for i := len(dims) - 1; i >= 0; i-- {
		b = append(b, dims[i])
	}
	*buf = b
	return b[start:len(b):len(b)]
}

// dimsChunk is how many dims reversed allocates at a time.
const dimsChunk = 1 << 14
