package compare

import (
	"context"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// rows is what a view reads rows from: a [checkpoint.Matrix], or the
// MXFP4 blocks of a Hugging Face checkpoint ([checkpoint.MXFP4Rows], the
// decoder the spot-check shares).
type rows interface {
	Rows() int
	Cols() int
	RowBytes() int64
	Tensor() *checkpoint.Tensor
	ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error
}

var _ rows = (*checkpoint.MXFP4Rows)(nil)
