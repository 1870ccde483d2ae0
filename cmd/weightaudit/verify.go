package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/atomicfile"
)

func newVerifyCmd() *cobra.Command {
	var (
		asJSON   bool
		jobs     int
		record   string
		manifest string
		builtin  string
	)
	cmd := &cobra.Command{
		Use:   "verify SOURCE [--jobs N] [--json] [--record FILE] [--manifest FILE]",
		Short: "Read every byte: sha256 of every file, NaN/Inf, zero-filled holes and statistics per tensor",
		Long: `verify streams every byte of every file of SOURCE (model files, index,
config.json), several files at once, and reports:

  - the sha256 of every file, compared with --manifest FILE when given
    (a mismatch names the file, the expected and the actual digest, and
    each tensor whose bytes changed);
  - per tensor: NaN and Inf counts (F32, F16, BF16, F64, F8 values; the
    scales of quantized GGUF blocks), all-zero tensors, zero-filled runs of
    1 MiB or more with their offsets, truncated tensors, and statistics
    (min, max, mean, std, absmax) over a sample of the values;
  - a per-layer summary.

--record FILE writes a manifest (tool version, every file's name, size and
sha256, every tensor's name, file, dtype, shape and sha256) atomically, for a
later --manifest or diff. Tensor digests double the hashing work, so they
are computed only with --record or a --manifest that holds them.

A progress line goes to stderr when it is a terminal. Ctrl-C stops the
reads and prints the partial report, marked INCOMPLETE.

--builtin NAME verifies a built-in layout (` + strings.Join(synth.BuiltinNames(), ", ") + `):
its data is virtual zeros, so every tensor is all-zero, and it is large.

Exit codes: 0 every check passed, 1 a finding, 2 verify could not run or was
interrupted (the report is then incomplete).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (builtin != "") {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			if jobs < 1 {
				return usageError(cmd, fmt.Sprintf("--jobs must be at least 1, got %d", jobs))
			}
			var m *audit.Manifest
			if manifest != "" {
				var err error
				if m, err = readManifestFile(manifest); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			ck, src, err := load(cmd, args, builtin, jobs, audit.WithPartialFiles())
			if err != nil {
				return err
			}
			opts := audit.VerifyOptions{Jobs: jobs, Manifest: m, TensorDigests: record != "", Expected: expectedDigests(src, ck)}
			bar := newProgressBar(cmd.ErrOrStderr(), ck)
			if bar != nil {
				opts.Progress = bar.add
			}
			r, verr := audit.Verify(ctx, ck, opts)
			bar.stop()
			if r == nil {
				return verr
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = r.WriteJSON(out)
			} else {
				err = r.WriteText(out)
			}
			if err != nil {
				return err
			}
			if verr != nil {
				return fmt.Errorf("%w; the report is incomplete", verr)
			}
			if record != "" {
				mf, err := audit.NewManifest(r)
				if err != nil {
					return err
				}
				if err := atomicfile.Write(record, 0o644, mf.WriteJSON); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "recorded %d files and %d tensors in %s\n", len(mf.Files), len(mf.Tensors), record)
			}
			if !r.Pass {
				return &checkFailed{n: len(r.Findings)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "write the report as JSON")
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files read at once")
	f.StringVar(&record, "record", "", "write a manifest of the files' and tensors' digests to FILE (replaced atomically)")
	f.StringVar(&manifest, "manifest", "", "compare with a manifest written earlier by --record")
	f.StringVar(&builtin, "builtin", "", "verify a built-in layout (its data reads as zeros)")
	return cmd
}

// readManifestFile reads a manifest file, refusing other files.
func readManifestFile(path string) (*audit.Manifest, error) {
	data, err := readSmall(path, audit.MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := audit.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// readSmall reads a local file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over %d bytes, too large for a manifest", path, limit)
	}
	return data, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one line on a terminal: bytes done and total, rate,
// ETA and the files being read, at most four times a second.
type progressBar struct {
	w     io.Writer
	total int64
	sizes map[string]int64
	start time.Time

	mu    sync.Mutex
	done  int64
	files map[string]int64 // bytes done of the files started and not finished
	shown bool
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// newProgressBar returns a bar for ck on w, or nil when w is not a
// terminal.
func newProgressBar(w io.Writer, ck *audit.Checkpoint) *progressBar {
	if !isTerminal(w) {
		return nil
	}
	b := &progressBar{w: w, sizes: map[string]int64{}, files: map[string]int64{}, start: time.Now(), quit: make(chan struct{})}
	for _, f := range ck.Files {
		b.total += f.Size
		b.sizes[f.Name] = f.Size
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.draw()
			case <-b.quit:
				return
			}
		}
	}()
	return b
}

// add is the VerifyOptions.Progress callback.
func (b *progressBar) add(file string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.files[file] += n
	if size, ok := b.sizes[file]; ok && b.files[file] >= size {
		delete(b.files, file)
	}
}

func (b *progressBar) draw() {
	b.mu.Lock()
	done := b.done
	active := make([]string, 0, len(b.files))
	for f := range b.files {
		active = append(active, f)
	}
	b.mu.Unlock()
	sort.Strings(active)
	line := progressLine(done, b.total, time.Since(b.start), active)
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	b.shown = true
}

// stop ends the bar and clears its line; a nil bar does nothing.
func (b *progressBar) stop() {
	if b == nil {
		return
	}
	b.once.Do(func() {
		close(b.quit)
		b.wg.Wait()
		if b.shown {
			fmt.Fprint(b.w, "\r\x1b[K")
		}
	})
}

// progressLine renders the bar's text.
func progressLine(done, total int64, elapsed time.Duration, active []string) string {
	var s bytes.Buffer
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(&s, "verify %s / %s (%.1f%%)", audit.Bytes(done), audit.Bytes(total), pct)
	if sec := elapsed.Seconds(); sec > 0 && done > 0 {
		rate := float64(done) / sec
		eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(&s, "  %.0f MB/s  ETA %s", rate/1e6, eta)
	}
	if len(active) > 0 {
		fmt.Fprintf(&s, "  %s", active[0])
		if len(active) > 1 {
			fmt.Fprintf(&s, " +%d", len(active)-1)
		}
	}
	return s.String()
}

// expectedDigests returns the sha256 the source publishes for each file
// of the checkpoint (a Hub repository's LFS digests), or nil.
func expectedDigests(src hub.Source, ck *audit.Checkpoint) map[string]string {
	d, ok := src.(interface{ Digest(string) (string, bool) })
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, f := range ck.Files {
		if sum, ok := d.Digest(f.Name); ok {
			out[f.Name] = sum
		}
	}
	return out
}
