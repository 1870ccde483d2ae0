package hugeheap

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// anonHugeKB returns the AnonHugePages (KiB) of the mappings of this
// process that overlap [lo, hi), from /proc/self/smaps: the kernel's own
// account of which memory huge pages back.
func anonHugeKB(t *testing.T, lo, hi uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps: ", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if start, end, ok := vmaRange(line); ok {
			in = start < hi && lo < end
			continue
		}
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok && in {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// vmaRange parses the header line of a mapping in smaps, "lo-hi perms …".
func vmaRange(line string) (lo, hi uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, dash := strings.Cut(r, "-")
	if !found || !dash {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(x), uintptr(y), true
}

// needMadviseMode skips a test unless the kernel backs memory with huge
// pages on request only (madvise mode, most distributions' default): in
// "always" mode the heap gets them without advice, in "never" mode not at
// all, and neither can tell advice from none.
func needMadviseMode(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(thpEnabled)
	if err != nil || !strings.Contains(string(b), "[madvise]") {
		t.Skipf("transparent huge pages not in madvise mode (%q, %v)", b, err)
	}
	if disabled() && os.Getenv("HUGEHEAP_TEST_CHILD") != "off" {
		t.Skip("GODEBUG=disablethp=1")
	}
}

// TestAdvise checks that memory Advise was given is backed by huge pages
// once touched, and that memory it was not given is not: two fresh 12 MiB
// allocations, each holding at least five whole huge pages. (The advised
// one first: the heap grows upwards, so the plain one lies above it, away
// from the start-up chunk, which is advised too.)
func TestAdvise(t *testing.T) {
	needMadviseMode(t)
	if !Available() {
		t.Error("Available() = false in madvise mode")
	}
	const n = 12 << 20
	advised := make([]byte, n)
	Advise(advised)
	plain := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		plain[i], advised[i] = 1, 1
	}
	at := func(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
	if kb := anonHugeKB(t, at(advised), at(advised)+n); kb < 5*2048 {
		t.Errorf("advised 12 MiB: %d KiB in huge pages, want at least %d", kb, 5*2048)
	}
	if kb := anonHugeKB(t, at(plain), at(plain)+n); kb != 0 {
		t.Errorf("12 MiB without advice: %d KiB in huge pages, want 0", kb)
	}
}

// TestInitChunk checks what importing the package does, in fresh
// processes: the huge page holding the last byte initialization used is
// backed by a huge page (collapsed); with GODEBUG=disablethp=1, the heap's
// chunk has none.
func TestInitChunk(t *testing.T) {
	needMadviseMode(t)
	if os.Getenv("HUGEHEAP_TEST_CHILD") == "" {
		// Six children each, as the heap starts at a random page. One
		// with huge pages may fail: the kernel can lack a free huge page
		// for a moment (MADV_COLLAPSE fails then), which is not the
		// package's doing.
		for _, c := range []struct {
			env     []string
			mayFail int
		}{
			{[]string{"HUGEHEAP_TEST_CHILD=on"}, 1},
			{[]string{"HUGEHEAP_TEST_CHILD=off", "GODEBUG=disablethp=1"}, 0},
		} {
			var failed []string
			for range 6 {
				cmd := exec.Command(os.Args[0], "-test.run=^TestInitChunk$", "-test.v")
				cmd.Env = append(os.Environ(), c.env...)
				out, err := cmd.CombinedOutput()
				if err != nil || !strings.Contains(string(out), "--- PASS: TestInitChunk") {
					failed = append(failed, fmt.Sprintf("%v\n%s", err, out))
				}
			}
			if len(failed) > c.mayFail {
				t.Errorf("children %v: %d of 6 failed:\n%s", c.env, len(failed), strings.Join(failed, "\n"))
			}
		}
		return
	}
	if os.Getenv("HUGEHEAP_TEST_CHILD") == "off" {
		if prepared != (preparation{}) {
			t.Errorf("with disablethp=1: prepared %+v, want nothing", prepared)
		}
		p := uintptr(unsafe.Pointer(new([64]byte)))
		if kb := anonHugeKB(t, p&^(chunk-1), p&^(chunk-1)+chunk); kb != 0 {
			t.Errorf("with disablethp=1 the heap's chunk has %d KiB in huge pages, want 0", kb)
		}
		return
	}
	used := prepared.used
	if used == 0 {
		t.Fatal("prepare did not run")
	}
	hp := (used - 1) &^ (hugePage - 1)
	if kb := anonHugeKB(t, hp, hp+hugePage); kb < 2048 {
		t.Errorf("huge page %#x, holding the last byte initialization used (%#x): %d KiB in huge pages, want 2048", hp, used-1, kb)
	}
}

// advisedMapped reports whether every page of [lo, hi) is mapped
// read-write in this process and advised for huge pages ("hg" in the
// VmFlags of its mapping in /proc/self/smaps), and if not, the first page
// that is not.
func advisedMapped(t *testing.T, lo, hi uintptr) (uintptr, bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps: ", err)
	}
	type vma struct {
		lo, hi uintptr
		ok     bool
	}
	var vmas []vma
	for _, line := range strings.Split(string(b), "\n") {
		if lo, hi, ok := vmaRange(line); ok {
			perms := strings.Fields(line)[1]
			vmas = append(vmas, vma{lo, hi, strings.HasPrefix(perms, "rw")})
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && len(vmas) > 0 {
			v := &vmas[len(vmas)-1]
			v.ok = v.ok && slices.Contains(strings.Fields(flags), "hg")
		}
	}
	for p := lo &^ 4095; p < hi; p += 4096 {
		i := slices.IndexFunc(vmas, func(v vma) bool { return v.lo <= p && p < v.hi })
		if i < 0 || !vmas[i].ok {
			return p, false
		}
	}
	return 0, true
}

// TestHeadroom checks that initialization leaves the heap headroom bytes
// of advised memory from where it has got to, wherever the runtime started
// it: in fresh processes, the range prepare reports is mapped and
// advised for huge pages. The runtime starts the heap at a random page of
// its first chunk, so children run until several of them had to have the
// next chunk mapped and advised early.
func TestHeadroom(t *testing.T) {
	needMadviseMode(t)
	if os.Getenv("HUGEHEAP_TEST_CHILD") == "headroom" {
		room := prepared.room
		if room == 0 {
			t.Fatal("prepare did not run")
		}
		if p, ok := advisedMapped(t, room, room+headroom); !ok {
			t.Fatalf("headroom [%#x, %#x): page %#x not mapped and advised (spilled %v)",
				room, room+headroom, p, prepared.spilled)
		}
		fmt.Printf("spilled=%v\n", prepared.spilled)
		return
	}
	runs, spills := 0, 0
	for ; runs < 60 && spills < 3; runs++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeadroom$", "-test.v")
		cmd.Env = append(os.Environ(), "HUGEHEAP_TEST_CHILD=headroom")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestHeadroom") {
			t.Fatalf("child %d: %v\n%s", runs, err, out)
		}
		if strings.Contains(string(out), "spilled=true") {
			spills++
		}
	}
	t.Logf("%d processes, %d of them had the next chunk mapped at start-up", runs, spills)
}
