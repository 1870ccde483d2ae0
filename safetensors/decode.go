package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/internal/half"
)

// ErrUnsupported is returned by [Decode] for a dtype it cannot convert to
// float32 (integers, booleans, sub-byte and complex types).
var ErrUnsupported = fmt.Errorf("unsupported dtype")

// CanDecode reports whether [Decode] converts dtype d.
func (d DType) CanDecode() bool {
	switch d {
	case F32, F16, BF16, F64, F8_E4M3, F8_E5M2:
		return true
	}
	return false
}

// Decode converts src, little-endian elements of dtype d in stored order,
// to float32 in dst: F32 as is, F64 rounded to nearest, F16 and BF16 and
// the 8-bit floats exactly. len(src) must be len(dst) elements of d. The
// caller owns dst; nothing is allocated. The F8 types follow the OCP 8-bit
// floating point specification as PyTorch implements them:
// float8_e4m3fn (bias 7, no infinities, S.1111.111 is NaN, largest 448) and
// float8_e5m2 (bias 15, IEEE-style infinities and NaNs).
func Decode(d DType, dst []float32, src []byte) error {
	size := d.Bits() / 8
	if !d.CanDecode() {
		return fmt.Errorf("decode %s: %w", d, ErrUnsupported)
	}
	if len(src) != len(dst)*size {
		return fmt.Errorf("decode %s: %d bytes for %d elements, want %d: %w", d, len(src), len(dst), len(dst)*size, ErrSize)
	}
	switch d {
	case F32:
		decodeF32(dst, src)
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	case F16:
		half.Row(dst, src)
	case BF16:
		half.BF16Row(dst, src)
	case F8_E4M3:
		for i, b := range src {
			dst[i] = half.E4M3[b]
		}
	case F8_E5M2:
		for i, b := range src {
			dst[i] = half.E5M2[b]
		}
	}
	return nil
}

// decodeF32 copies little-endian float32 values, four from each 16 bytes
// (one bounds check for the four).
func decodeF32(dst []float32, src []byte) {
	n := len(dst) &^ 3
	for i := 0; i < n; i += 4 {
		s := (*[16]byte)(src[4*i:])
		o := (*[4]float32)(dst[i:])
		o[0] = math.Float32frombits(binary.LittleEndian.Uint32(s[0:]))
		o[1] = math.Float32frombits(binary.LittleEndian.Uint32(s[4:]))
		o[2] = math.Float32frombits(binary.LittleEndian.Uint32(s[8:]))
		o[3] = math.Float32frombits(binary.LittleEndian.Uint32(s[12:]))
	}
	for i := n; i < len(dst); i++ {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}
