package cost

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Hardware is one machine of the roofline: how fast it reads memory and how
// fast it multiplies.
type Hardware struct {
	// Name is the preset's name ("H100 SXM") or the caller's label.
	Name string `json:"name"`
	// Bandwidth is the peak memory bandwidth in bytes per second.
	Bandwidth float64 `json:"bandwidth"`
	// Compute is the peak dense BF16/FP16 matrix throughput in FLOP/s, with
	// FP32 accumulation and without structured sparsity.
	Compute float64 `json:"compute"`
	// MemoryBytes is the memory capacity: the vendor's figure in decimal
	// gigabytes (10⁹ bytes), which slightly understates binary-sized parts;
	// 0 when unknown.
	MemoryBytes int64 `json:"memory_bytes"`
	// Source says where the figures come from.
	Source string `json:"source"`
}

// preset is a [Hardware] with the names [LookupHardware] accepts for it,
// normalized (see normalizeHardware).
type preset struct {
	hw      Hardware
	aliases []string
}

// presets holds the vendors' published figures. NVIDIA datasheets give
// tensor throughput "with sparsity"; the dense figure is half of it.
var presets = []preset{
	// NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column: GPU memory
	// 80 GB, bandwidth 3.35 TB/s, BF16 Tensor Core 1,979 TFLOPS with
	// sparsity (989.5 dense).
	{Hardware{"H100 SXM", 3.35e12, 989.5e12, 80e9,
		"NVIDIA H100 Tensor Core GPU datasheet (H100 SXM): 3.35 TB/s, BF16 Tensor Core 1,979 TFLOPS with sparsity (half dense), 80 GB"},
		[]string{"h100", "h100sxm", "h100sxm5"}},
	// Same datasheet, H100 PCIe column: 80 GB, 2 TB/s, BF16 Tensor Core
	// 1,513 TFLOPS with sparsity.
	{Hardware{"H100 PCIe", 2.0e12, 756.5e12, 80e9,
		"NVIDIA H100 Tensor Core GPU datasheet (H100 PCIe): 2 TB/s, BF16 Tensor Core 1,513 TFLOPS with sparsity (half dense), 80 GB"},
		[]string{"h100pcie"}},
	// NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column: 141 GB HBM3e,
	// 4.8 TB/s, BF16 Tensor Core 1,979 TFLOPS with sparsity.
	{Hardware{"H200", 4.8e12, 989.5e12, 141e9,
		"NVIDIA H200 Tensor Core GPU datasheet (H200 SXM): 4.8 TB/s, BF16 Tensor Core 1,979 TFLOPS with sparsity (half dense), 141 GB"},
		[]string{"h200", "h200sxm"}},
	// NVIDIA A100 Tensor Core GPU datasheet, A100 80GB SXM column:
	// 2,039 GB/s, BFLOAT16 Tensor Core 312 TFLOPS (624 with sparsity).
	{Hardware{"A100 80GB SXM", 2.039e12, 312e12, 80e9,
		"NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM): 2,039 GB/s, BFLOAT16 Tensor Core 312 TFLOPS dense, 80 GB"},
		[]string{"a100", "a10080gb", "a100sxm", "a100sxm4", "a10080gbsxm", "a100sxm80gb"}},
	// NVIDIA HGX B200 / DGX B200 specifications, per GPU (the 8-GPU
	// totals divided by 8): 1,440 GB and 64 TB/s HBM3e, FP16/BF16 Tensor
	// Core 36 PFLOPS with sparsity → 180 GB, 8 TB/s, 2.25 PFLOPS dense.
	{Hardware{"B200", 8e12, 2.25e15, 180e9,
		"NVIDIA HGX/DGX B200 specifications, per GPU (8-GPU totals / 8): 8 TB/s, FP16/BF16 Tensor Core 4.5 PFLOPS with sparsity (half dense), 180 GB"},
		[]string{"b200", "hgxb200"}},
	// AMD Instinct MI300X accelerator data sheet: 192 GB HBM3, 5.3 TB/s
	// peak bandwidth, peak BF16 1,307.4 TFLOPS (2,614.9 with sparsity).
	{Hardware{"MI300X", 5.3e12, 1307.4e12, 192e9,
		"AMD Instinct MI300X data sheet: 5.3 TB/s, peak BF16 1,307.4 TFLOPS dense, 192 GB"},
		[]string{"mi300x"}},
	// AMD Instinct MI325X accelerator data sheet: 256 GB HBM3E, 6 TB/s,
	// peak BF16 1,307.4 TFLOPS dense.
	{Hardware{"MI325X", 6e12, 1307.4e12, 256e9,
		"AMD Instinct MI325X data sheet: 6 TB/s, peak BF16 1,307.4 TFLOPS dense, 256 GB"},
		[]string{"mi325x"}},
	// NVIDIA Ada GPU architecture whitepaper, GeForce RTX 4090 column:
	// 1,008 GB/s GDDR6X, peak BF16 Tensor TFLOPS with FP32 accumulate
	// 165.2 (330.4 with sparsity), 24 GB.
	{Hardware{"RTX 4090", 1.008e12, 165.2e12, 24e9,
		"NVIDIA Ada GPU architecture whitepaper (GeForce RTX 4090): 1,008 GB/s, BF16 Tensor with FP32 accumulate 165.2 TFLOPS dense, 24 GB"},
		[]string{"rtx4090", "4090"}},
	// Apple Mac Studio (2025) technical specifications, M3 Ultra: 819 GB/s
	// memory bandwidth, up to 512 GB unified memory, up to 80 GPU cores.
	// Apple publishes no FLOP rate: the compute is an estimate, 80 cores ×
	// 128 FP32 lanes × 2 FLOP × about 1.4 GHz ≈ 28.7 TFLOPS, FP16 running
	// at the FP32 rate on this GPU.
	{Hardware{"M3 Ultra", 819e9, 28.7e12, 512e9,
		"Apple Mac Studio (2025) technical specifications (M3 Ultra, 80-core GPU): 819 GB/s, up to 512 GB; compute is an estimate (80 cores × 128 lanes × 2 FLOP × ~1.4 GHz), Apple publishes no FLOP rate"},
		[]string{"m3ultra"}},
}

// HardwarePresets returns the built-in machines, in a fixed order: H100 SXM,
// H100 PCIe, H200, A100 80GB SXM, B200, MI300X, MI325X, RTX 4090 and Apple
// M3 Ultra. Figures are the vendors' peak numbers (see each Source); real
// decode reaches a fraction of them. The slice is the caller's.
func HardwarePresets() []Hardware {
	out := make([]Hardware, len(presets))
	for i, p := range presets {
		out[i] = p.hw
	}
	return out
}

// LookupHardware returns the preset named name, ignoring case, spaces,
// dashes, underscores and dots, and a leading vendor name ("NVIDIA",
// "AMD", "Apple", "GeForce", "Instinct"): "h100", "H100-SXM" and
// "nvidia h100 sxm" all name the H100 SXM, "m3-ultra" the Apple M3 Ultra.
func LookupHardware(name string) (Hardware, bool) {
	n := normalizeHardware(name)
	if n == "" {
		return Hardware{}, false
	}
	for _, p := range presets {
		if n == normalizeHardware(p.hw.Name) {
			return p.hw, true
		}
		for _, a := range p.aliases {
			if n == a {
				return p.hw, true
			}
		}
	}
	return Hardware{}, false
}

// normalizeHardware lower-cases name, drops separators and strips vendor
// prefixes.
func normalizeHardware(name string) string {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '.', '\t':
			return -1
		}
		return r
	}, strings.ToLower(name))
	for _, v := range []string{"nvidia", "amd", "apple", "geforce", "instinct"} {
		n = strings.TrimPrefix(n, v)
	}
	return n
}

// ParseMachine returns the machine a --hw value names: a preset name (see
// [LookupHardware]), or a custom machine NAME=MEM[,bw=GB/s][,flops=TFLOPS]
// whose memory MEM is a number with a unit (GB, GiB, TB, TiB, MB, MiB; a
// bare number is GB), e.g. "box=96GiB,bw=800,flops=120". Bandwidth and
// compute are 0 when not given: such a machine has a memory plan but no
// roofline. Errors wrap [ErrCostInput].
func ParseMachine(s string) (Hardware, error) {
	name, rest, custom := strings.Cut(s, "=")
	if !custom {
		if hw, ok := LookupHardware(s); ok {
			return hw, nil
		}
		return Hardware{}, fmt.Errorf("%w: hardware %q: no such preset (want one of %s, or NAME=MEM[,bw=GB/s,flops=TFLOPS])", ErrCostInput, s, strings.Join(presetNames(), ", "))
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return Hardware{}, fmt.Errorf("%w: hardware %q: empty name", ErrCostInput, s)
	}
	fields := strings.Split(rest, ",")
	mem, err := parseBytes(fields[0])
	if err != nil {
		return Hardware{}, fmt.Errorf("%w: hardware %q: memory %q: %v", ErrCostInput, s, fields[0], err)
	}
	hw := Hardware{Name: name, MemoryBytes: mem, Source: "--hw " + s}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(x > 0) || math.IsInf(x, 1) {
			return Hardware{}, fmt.Errorf("%w: hardware %q: %q: want a positive number", ErrCostInput, s, f)
		}
		switch strings.TrimSpace(k) {
		case "bw":
			hw.Bandwidth = x * 1e9
		case "flops":
			hw.Compute = x * 1e12
		default:
			return Hardware{}, fmt.Errorf("%w: hardware %q: unknown field %q (want bw=GB/s or flops=TFLOPS)", ErrCostInput, s, k)
		}
	}
	return hw, nil
}

// presetNames returns the first alias of every preset.
func presetNames() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.aliases[0]
	}
	return out
}

// parseBytes parses a size such as "96GiB", "1.5TB" or "80" (GB).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	scale := map[string]float64{"": 1e9, "gb": 1e9, "g": 1e9, "gib": 1 << 30, "tb": 1e12, "t": 1e12, "tib": 1 << 40, "mb": 1e6, "m": 1e6, "mib": 1 << 20}[strings.ToLower(unit)]
	x, err := strconv.ParseFloat(num, 64)
	switch {
	case scale == 0:
		return 0, fmt.Errorf("unknown unit %q (want GB, GiB, TB, TiB, MB or MiB)", unit)
	case err != nil || !(x > 0):
		return 0, fmt.Errorf("want a positive size")
	case x*scale >= math.MaxInt64/2:
		return 0, fmt.Errorf("too large")
	}
	return int64(math.Round(x * scale)), nil
}
