// Package cpuid tells which x86-64 vector extensions the assembly kernels
// (gguf's dequantization, checkpoint's FP8 decoding, the spot-check's
// dot products) may use: the CPU has them and the operating system saves
// their registers. It reads CPUID and XGETBV itself, with the standard
// library only, because the format readers may depend on nothing else
// (internal/depcheck). On other architectures every flag is false.
package cpuid

// AVX, AVX2 and F16C report the extensions (CPUID leaf 1 ECX bits 28 and
// 29, leaf 7 EBX bit 5), each only when the OS saves the YMM registers
// (OSXSAVE, leaf 1 ECX bit 27, and XCR0 bits 1 and 2).
var AVX, AVX2, F16C bool
