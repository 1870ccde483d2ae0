package verify

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// BenchmarkVerify measures Verify over two safetensors shards of random
// normal BF16 data (256 MiB each; 32 MiB with -short; the environment
// variable WEIGHTAUDIT_VERIFY_BENCH_MIB sets another size), page cache warm,
// against `openssl dgst -sha256` run one process per core over the same
// files in the same run, and against Go's sha256 alone. Besides MB/s each
// reports cpu-MB/s (bytes per second of CPU time used, which other load on
// the machine disturbs less than wall time), the ratios to openssl's
// figures (x-openssl, x-openssl-cpu) and the process's peak RSS.
func BenchmarkVerify(b *testing.B) {
	mib := 256
	if testing.Short() {
		mib = 32
	}
	if s := os.Getenv("WEIGHTAUDIT_VERIFY_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 8 {
			b.Fatalf("WEIGHTAUDIT_VERIFY_BENCH_MIB=%q: want a number of MiB ≥ 8", s)
		}
		mib = n
	}
	dir := b.TempDir()
	var files []string
	var total int64
	for i := range 2 {
		path := filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", i+1))
		total += writeBenchShard(b, path, mib, uint64(i))
		files = append(files, path)
	}
	for _, f := range files { // warm the page cache
		fh, _ := os.Open(f)
		io.Copy(io.Discard, fh)
		fh.Close()
	}
	src := hub.NewDir(dir)
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	jobs := runtime.NumCPU()

	var baseWall, baseCPU float64 // openssl's seconds per op
	measure := func(b *testing.B, child bool, op func() error) (wall, cpu float64) {
		b.SetBytes(total)
		b.ReportAllocs()
		n := 0
		c0 := cpuTime(child)
		t0 := time.Now()
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		wall = time.Since(t0).Seconds() / float64(n)
		cpu = (cpuTime(child) - c0) / float64(n)
		b.ReportMetric(float64(total)/cpu/1e6, "cpu-MB/s")
		return wall, cpu
	}
	ratios := func(b *testing.B, wall, cpu float64) {
		if baseWall > 0 {
			b.ReportMetric(baseWall/wall, "x-openssl")
			b.ReportMetric(baseCPU/cpu, "x-openssl-cpu")
		}
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	}

	b.Run("openssl", func(b *testing.B) {
		ossl, err := exec.LookPath("openssl")
		if err != nil {
			b.Skip("openssl not found")
		}
		baseWall, baseCPU = measure(b, true, func() error { return opensslAll(ossl, files, jobs) })
	})
	b.Run("sha256", func(b *testing.B) {
		wall, cpu := measure(b, false, func() error { return sha256All(files) })
		ratios(b, wall, cpu)
	})
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"verify", Options{Jobs: jobs}},
		{"verify-split", Options{Jobs: jobs, split: true}},
		{"verify-8MiB", Options{Jobs: jobs, BufferSize: 8 << 20}},
		{"verify-1MiB", Options{Jobs: jobs, BufferSize: 1 << 20}},
		{"verify-tensor-digests", Options{Jobs: jobs, TensorDigests: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			wall, cpu := measure(b, false, func() error {
				r, err := Run(context.Background(), ck, bc.opts)
				if err == nil && !r.Pass {
					err = fmt.Errorf("findings on clean data: %+v", r.Findings[0])
				}
				return err
			})
			ratios(b, wall, cpu)
		})
	}
}

// writeBenchShard writes a safetensors shard of 8 BF16 tensors filling mib
// MiB with normal values (std 0.02), and returns its size.
func writeBenchShard(tb testing.TB, path string, mib int, seed uint64) int64 {
	tb.Helper()
	const parts = 8
	elems := int64(mib) << 20 / 2 / parts
	infos := make([]safetensors.TensorInfo, parts)
	for i := range infos {
		infos[i] = safetensors.TensorInfo{Name: fmt.Sprintf("model.layers.%d.mlp.weight", i), DType: safetensors.BF16, Shape: []int64{elems}}
	}
	header, size, err := safetensors.EncodeHeader(nil, infos)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 8<<20)
	w.Write(header)
	rng := rand.New(rand.NewPCG(seed, 99))
	var buf [2]byte
	for range size / 2 {
		v := math.Float32bits(float32(rng.NormFloat64() * 0.02))
		binary.LittleEndian.PutUint16(buf[:], uint16(v>>16))
		w.Write(buf[:])
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return int64(len(header)) + size
}

// opensslAll hashes every file with one openssl process per file, at most
// jobs at once.
func opensslAll(ossl string, files []string, jobs int) error {
	sem := make(chan struct{}, jobs)
	errs := make(chan error, len(files))
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := exec.Command(ossl, "dgst", "-sha256", f).Output()
			if err == nil && !strings.Contains(string(out), "=") {
				err = fmt.Errorf("openssl: unexpected output %q", out)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sha256All hashes every file with Go's sha256, one goroutine per file,
// reading 4 MiB at a time.
func sha256All(files []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	for i, path := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(path)
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			h := sha256.New()
			_, errs[i] = io.CopyBuffer(h, f, make([]byte, DefaultBufferSize))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// cpuTime returns the user and system CPU seconds of this process, or of
// its waited-for children.
func cpuTime(children bool) float64 {
	who := syscall.RUSAGE_SELF
	if children {
		who = syscall.RUSAGE_CHILDREN
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, or 0
// where /proc does not tell.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkScan measures the data checks alone on 4 MiB of each dtype
// (normal values, no NaN), against a plain read of every word as the
// baseline.
func BenchmarkScan(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const size = 4 << 20
	b.Run("baseline-or-words", func(b *testing.B) {
		p := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		var sink uint64
		for b.Loop() {
			var acc uint64
			for i := 0; i+8 <= len(p); i += 8 {
				acc |= binary.LittleEndian.Uint64(p[i:])
			}
			sink += acc
		}
		_ = sink
	})
	for _, c := range []scanCase{
		{"BF16", checkpoint.FormatSafetensors, "BF16"}, {"F16", checkpoint.FormatSafetensors, "F16"}, {"F32", checkpoint.FormatSafetensors, "F32"},
		{"F8_E4M3", checkpoint.FormatSafetensors, "F8_E4M3"}, {"Q8_0", checkpoint.FormatGGUF, "Q8_0"}, {"Q4_K", checkpoint.FormatGGUF, "Q4_K"}, {"Q6_K", checkpoint.FormatGGUF, "Q6_K"},
	} {
		vc := checkFor(c.format, c.dtype)
		p := randomTensor(rng, c, size/vc.unit)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				s := newTensorScan(vc, int64(len(p)), DefaultZeroRun, nil)
				for at := 0; at < len(p); at += hashSlice {
					s.write(p[at:min(len(p), at+hashSlice)])
				}
				s.finish()
			}
		})
	}
}
