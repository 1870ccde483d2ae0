package cpuid

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func init() {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 1 {
		return
	}
	_, _, ecx, _ := cpuid(1, 0)
	const osxsave, avx, f16c = 1 << 27, 1 << 28, 1 << 29
	if ecx&osxsave == 0 {
		return
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return
	}
	AVX = ecx&avx != 0
	F16C = AVX && ecx&f16c != 0
	if maxLeaf >= 7 {
		_, ebx, _, _ := cpuid(7, 0)
		AVX2 = AVX && ebx&(1<<5) != 0
	}
}
