//go:build amd64 && !purego

package gguf

import "github.com/weightaudit/weightaudit/internal/cpuid"

// On amd64 with AVX2 and F16C (every x86-64 CPU since 2013-2015), the
// kernels of BF16, F16, Q8_0, Q4_K and Q5_K run in AVX2 assembly
// (dequant_amd64.s), eight elements an instruction, replacing the
// portable ones in the kernel table at init. They compute what the
// references compute, operation for operation: FuzzDequantize checks them
// against the references bit for bit. Build with -tags purego to keep the
// portable kernels.

// The assembly; see dequant_amd64.s.
//
//go:noescape
func bf16AVX2(dst *float32, src *byte, n int)

//go:noescape
func f16AVX2(dst *float32, src *byte, n int)

//go:noescape
func q8_0AVX2(dst *float32, src *byte, d *float32, blocks int)

//go:noescape
func q4_KAVX2(dst *float32, src *byte, sc *float32, blocks int)

//go:noescape
func q5_KAVX2(dst *float32, src *byte, sc *float32, blocks int)

// hasAVX2 reports whether the CPU has AVX2 and F16C and the OS saves the
// YMM registers (internal/cpuid checks the OS support).
func hasAVX2() bool { return cpuid.AVX2 && cpuid.F16C }

func init() {
	if !hasAVX2() {
		return
	}
	kernels[TypeBF16].fast = dequantBF16AVX2
	kernels[TypeF16].fast = dequantF16AVX2
	kernels[TypeQ8_0].fast = dequantQ8_0AVX2
	kernels[TypeQ4_K].fast = dequantQ4_KAVX2
	kernels[TypeQ5_K].fast = dequantQ5_KAVX2
}

func dequantBF16AVX2(dst []float32, src []byte) {
	n := len(dst) &^ 7
	if n > 0 {
		_ = src[2*n-1]
		bf16AVX2(&dst[0], &src[0], n)
	}
	dequantBF16Ref(dst[n:], src[2*n:])
}

func dequantF16AVX2(dst []float32, src []byte) {
	n := len(dst) &^ 7
	if n > 0 {
		_ = src[2*n-1]
		f16AVX2(&dst[0], &src[0], n)
	}
	dequantF16Ref(dst[n:], src[2*n:])
}

// chunk is the blocks whose scales the Go side computes, on the stack,
// before one call of an assembly kernel.
const chunk = 16

func dequantQ8_0AVX2(dst []float32, src []byte) {
	var d [chunk]float32
	blocks := len(src) / blockQ8_0
	dst = dst[:blocks*32] // the assembly writes this far
	for b := 0; b < blocks; b += chunk {
		n := min(chunk, blocks-b)
		for k := range n {
			x := src[(b+k)*blockQ8_0:]
			h := uint16(x[0]) | uint16(x[1])<<8
			f, ok := halfNormalToFloat32(h)
			if !ok {
				f = halfSpecialToFloat32(h)
			}
			d[k] = f
		}
		q8_0AVX2(&dst[b*32], &src[b*blockQ8_0], &d[0], n)
	}
}

// kScales sets sc (16 floats) to a Q4_K or Q5_K block's (d1, m1, d2, m2)
// for each 64 elements, as the references compute them: getScaleMinK4
// unrolled, the 6-bit values converted through sixBits.
func kScales(sc *[16]float32, x []byte, scalesAt int) {
	d, dmin := f16Scale(uint16(x[0])|uint16(x[1])<<8), f16Scale(uint16(x[2])|uint16(x[3])<<8)
	q := (*[12]byte)(x[scalesAt:])
	for j := range 4 {
		sc[2*j] = d * sixBits[q[j]&63]
		sc[2*j+1] = float32(dmin * sixBits[q[j+4]&63])
		sc[2*j+8] = d * sixBits[(q[j+8]&0x0f|(q[j]>>6)<<4)&63]
		sc[2*j+9] = float32(dmin * sixBits[(q[j+8]>>4|(q[j+4]>>6)<<4)&63])
	}
}

// sixBits maps 0-63 to float32.
var sixBits = func() (t [64]float32) {
	for v := range t {
		t[v] = float32(v)
	}
	return t
}()

func dequantQ4_KAVX2(dst []float32, src []byte) { kQuantAVX2(dst, src, false) }

func dequantQ5_KAVX2(dst []float32, src []byte) { kQuantAVX2(dst, src, true) }

// kQuantAVX2 runs the Q4_K (q5 false) or Q5_K kernel over the super-blocks
// of src a chunk at a time, the chunk's scales computed first as the
// reference computes them. The kernels are called directly, not through a
// func value: through one, the compiler cannot see that the assembly keeps
// no pointer to sc, and sc would move to the heap, an allocation a chunk
// (TestDequantizeAllocatesNothing).
func kQuantAVX2(dst []float32, src []byte, q5 bool) {
	var sc [chunk][16]float32
	block, scalesAt := blockQ4_K, q4KScales
	if q5 {
		block, scalesAt = blockQ5_K, q5KScales
	}
	blocks := len(src) / block
	dst = dst[:blocks*superBlock] // the assembly writes this far
	for b := 0; b < blocks; b += chunk {
		n := min(chunk, blocks-b)
		for k := range n {
			kScales(&sc[k], src[(b+k)*block:(b+k+1)*block], scalesAt)
		}
		if q5 {
			q5_KAVX2(&dst[b*superBlock], &src[b*block], &sc[0][0], n)
		} else {
			q4_KAVX2(&dst[b*superBlock], &src[b*block], &sc[0][0], n)
		}
	}
}

// f16Scale converts a block's half scale with the normal case inline.
func f16Scale(h uint16) float32 {
	if f, ok := halfNormalToFloat32(h); ok {
		return f
	}
	return halfSpecialToFloat32(h)
}
