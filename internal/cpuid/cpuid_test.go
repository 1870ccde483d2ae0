package cpuid_test

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/internal/cpuid"
)

// The flags agree with what the kernel reports in /proc/cpuinfo (Linux
// lists an extension only when it is usable), and AVX2 and F16C imply
// AVX.
func TestAgreesWithProcCPUInfo(t *testing.T) {
	if (cpuid.AVX2 || cpuid.F16C) && !cpuid.AVX {
		t.Errorf("AVX2 %v or F16C %v without AVX", cpuid.AVX2, cpuid.F16C)
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if runtime.GOARCH != "amd64" || err != nil {
		t.Skip("no x86-64 /proc/cpuinfo here")
	}
	var flags []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	has := func(f string) bool {
		for _, x := range flags {
			if x == f {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		name string
		got  bool
	}{{"avx", cpuid.AVX}, {"avx2", cpuid.AVX2}, {"f16c", cpuid.F16C}} {
		if c.got != has(c.name) {
			t.Errorf("%s: cpuid says %v, /proc/cpuinfo %v", c.name, c.got, has(c.name))
		}
	}
}
