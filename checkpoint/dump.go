package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrNoTensor is returned by [DumpTensor] for a tensor name the checkpoint
// does not hold.
var ErrNoTensor = errors.New("no such tensor")

// DumpTensor writes the tensor called name, dequantized to little-endian
// float32 in its stored element order, to out, reading it a chunk of rows
// at a time. It returns the number of elements written.
func DumpTensor(ctx context.Context, ck *Checkpoint, name string, out io.Writer) (int64, error) {
	inv := ck.Inventory()
	var t *Tensor
	for i := range inv.Tensors {
		if inv.Tensors[i].Name == name {
			t = &inv.Tensors[i]
			break
		}
	}
	if t == nil {
		return 0, fmt.Errorf("%s has no tensor %q: %w", ck.Source, name, ErrNoTensor)
	}
	codec, err := ck.Codec(t)
	if err != nil {
		return 0, err
	}
	rd, err := ck.NewReader()
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	// Rows of the innermost dimension, as many as fit about 1 MiB.
	inner := int64(1)
	if len(t.Logical) > 0 {
		inner = t.Logical[len(t.Logical)-1]
	}
	if inner == 0 || t.Params == 0 {
		return 0, nil
	}
	rowBytes, err := codec.RowBytes(inner)
	if err != nil || rowBytes*(t.Params/inner) != t.Bytes {
		return 0, fmt.Errorf("tensor %s: %s rows of %d elements do not fill its %d bytes", name, t.DType, inner, t.Bytes)
	}
	rowsPer := max(1, (1<<20)/rowBytes)
	rows := t.Params / inner
	src := make([]byte, rowsPer*rowBytes)
	dst := make([]float32, rowsPer*inner)
	le := make([]byte, 4*rowsPer*inner)
	var written int64
	for r := int64(0); r < rows; r += rowsPer {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		k := min(rowsPer, rows-r)
		s, d, b := src[:k*rowBytes], dst[:k*inner], le[:4*k*inner]
		if err := rd.ReadAt(ctx, t.File, s, t.Offset+r*rowBytes); err != nil {
			return written, fmt.Errorf("tensor %s: %w", name, err)
		}
		if err := codec.Decode(d, s); err != nil {
			return written, fmt.Errorf("tensor %s: %w", name, err)
		}
		for i, v := range d {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		if _, err := out.Write(b); err != nil {
			return written, err
		}
		written += int64(len(d))
	}
	return written, nil
}
