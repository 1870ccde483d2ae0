package arch

import "github.com/weightaudit/weightaudit/checkpoint"

// RowPermuter is implemented by specs whose GGUF conversion reorders the
// rows of some tensors: llama.cpp's converter permutes the rows of Q and K
// of llama-architecture models (convert_hf_to_gguf.py LlamaModel.permute)
// so that its interleaved ("normal") RoPE computes what transformers'
// rotate-half RoPE does on the original rows. Comparing or running such a
// tensor against its Hugging Face source must undo it ([HFRow]).
type RowPermuter interface {
	// GGUFPermutedHeads returns the number of heads whose rows the
	// converter permutes in the GGUF tensor of component c, 0 when the
	// rows are stored as Hugging Face stores them.
	GGUFPermutedHeads(c Component) int
}

// HFRow returns the Hugging Face row that row r of a GGUF tensor of rows
// rows holds when the converter permuted it over heads heads: each head's
// rows, stored in Hugging Face as its first half then its second half,
// are interleaved (row 2j of a head is its row j, row 2j+1 its row
// half + j). It returns r when heads does not divide rows into heads of
// an even number of rows.
func HFRow(r, rows, heads int) int {
	if heads <= 0 || rows%heads != 0 || (rows/heads)%2 != 0 || r < 0 || r >= rows {
		return r
	}
	hd := rows / heads
	h, rem := r/hd, r%hd
	return h*hd + (rem%2)*(hd/2) + rem/2
}

// PermutedHeads returns spec's permuted head count for component c in
// format f: 0 unless f is GGUF and spec is a [RowPermuter] that permutes
// c.
func PermutedHeads(spec Spec, f checkpoint.Format, c Component) int {
	if p, ok := spec.(RowPermuter); ok && f == checkpoint.FormatGGUF {
		return p.GGUFPermutedHeads(c)
	}
	return 0
}

// Transposer is implemented by specs that store some tensors of a format
// transposed, [in, out] where nn.Linear's [out, in] is the logical shape:
// gpt-oss's dequantized experts (GptOssExperts' gate_up_proj and
// down_proj), which llama.cpp's converter transposes back.
type Transposer interface {
	// Transposed reports whether the tensor of component c is stored
	// transposed in format f.
	Transposed(f checkpoint.Format, c Component) bool
}

// Splitter is implemented by specs whose GGUF conversion splits one
// Hugging Face tensor into several per head: llama.cpp's converter cuts
// DeepSeek's kv_b_proj, per head, into attn_k_b (transposed) and
// attn_v_b. Comparing the two formats pairs the whole with its parts.
type Splitter interface {
	// GGUFSplits lists the splits the converter makes.
	GGUFSplits() []HeadSplit
}

// HeadSplit is one tensor split per head: Whole, of logical shape
// [heads·Σ rows, cols], holds for each head the rows of each part in
// turn; each part is stacked over the heads in GGUF as [heads, rows,
// cols], or [heads, cols, rows] when Transposed. An Interleaved split
// deals the whole's rows to the parts in turn instead (gpt-oss's fused
// gate_up: row 2j is gate's row j, row 2j+1 up's), expert by expert, the
// parts' Rows and Transposed unused. An Interleaved split of Columns deals
// the whole's columns instead, row by row, the whole and each part one
// tensor of the same rows (gpt-oss's gate_up bias [E, 2f]: column 2j of
// expert e's row is gate's bias j, column 2j+1 up's).
type HeadSplit struct {
	Whole       Component
	Parts       []SplitPart
	Interleaved bool
	Columns     bool
}

// SplitPart is one part of a [HeadSplit].
type SplitPart struct {
	Comp       Component
	Rows       int64 // rows of each head's block of Whole
	Transposed bool
}
