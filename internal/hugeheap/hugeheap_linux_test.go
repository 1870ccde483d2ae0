package hugeheap

import (
	"bufio"
	"os"
	"os/exec"
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

// TestStartChunk checks what importing the package does: the heap chunk
// the runtime mapped at start-up is backed by huge pages (its first one,
// which initialization had touched, collapsed), and not with
// GODEBUG=disablethp=1, run as a separate process.
func TestStartChunk(t *testing.T) {
	needMadviseMode(t)
	if os.Getenv("HUGEHEAP_TEST_CHILD") == "" {
		for _, env := range [][]string{{"HUGEHEAP_TEST_CHILD=on"}, {"HUGEHEAP_TEST_CHILD=off", "GODEBUG=disablethp=1"}} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestStartChunk$", "-test.v")
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestStartChunk") {
				t.Errorf("child %v: %v\n%s", env, err, out)
			}
		}
		return
	}
	lo := uintptr(unsafe.Pointer(start)) &^ (chunk - 1)
	kb := anonHugeKB(t, lo, lo+chunk)
	if os.Getenv("HUGEHEAP_TEST_CHILD") == "off" {
		if kb != 0 {
			t.Errorf("with disablethp=1 the start-up chunk has %d KiB in huge pages, want 0", kb)
		}
		return
	}
	if kb < 2048 {
		t.Errorf("start-up chunk: %d KiB in huge pages, want at least one huge page (2048)", kb)
	}
}
