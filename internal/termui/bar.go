package termui

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/weightaudit/weightaudit/internal/interrupt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// drawMu serializes what is drawn on the terminal: the bar's redraws and
// the lines of [Println], so a retry notice never lands inside the bar's
// line. active is the bar being drawn, at most one at a time.
var (
	drawMu sync.Mutex
	active *Bar
)

// refresh is how often a bar is redrawn.
const refresh = 250 * time.Millisecond

// Unit says what a bar counts: bytes, or items named by a plural noun.
type Unit string

// Bytes counts bytes; any other Unit counts items ("files", "tensor pairs").
const Bytes Unit = ""

// Bar draws one line on a terminal: the work done and its total, the
// rate, the time left and, for bytes read from files, the files being
// read; at most four times a second. A nil *Bar does nothing, so callers
// need not ask whether there is one. Its methods are safe for concurrent
// use.
type Bar struct {
	w     io.Writer
	label string
	unit  Unit
	start time.Time

	mu    sync.Mutex
	total int64
	done  int64
	sizes map[string]int64 // the size of each file, as AddFiles gave it
	files map[string]int64 // bytes done of the files started and not finished
	shown bool

	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewBar starts a bar labelled label on w counting unit up to total, or
// returns nil when w is not a terminal (a pipe, a file, /dev/null): a
// log keeps no bar.
func NewBar(w io.Writer, label string, unit Unit, total int64) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	b := &Bar{w: w, label: label, unit: unit, total: total, start: time.Now(),
		sizes: map[string]int64{}, files: map[string]int64{}, quit: make(chan struct{})}
	drawMu.Lock()
	active = b
	drawMu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				// A run showing progress is one a person may stop:
				// from now on a signal cancels it (package interrupt).
				interrupt.Arm()
				drawMu.Lock()
				b.drawLocked()
				drawMu.Unlock()
			case <-b.quit:
				return
			}
		}
	}()
	return b
}

// AddFiles adds files, names to sizes, to what the bar counts: their
// sizes to the total, and their names to those [Bar.AddFile] shows while
// they are read.
func (b *Bar) AddFiles(sizes map[string]int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, size := range sizes {
		b.sizes[name] = size
		b.total += size
	}
}

// SetTotal sets what the bar counts up to, for work whose size is known
// late (a listing's pages).
func (b *Bar) SetTotal(total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

// AddTotal adds n to what the bar counts up to, for work found as it goes
// (the shards an index names, the two sides of a diff).
func (b *Bar) AddTotal(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total += n
	b.mu.Unlock()
}

// Set counts done as done in all, when it is more than counted so far
// (reports of cumulative counts may come out of order from concurrent
// work).
func (b *Bar) Set(done int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done = max(b.done, done)
	b.mu.Unlock()
}

// Add counts n more done.
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done += n
	b.mu.Unlock()
}

// AddFile counts n more bytes read of file; it has the signature of
// verify.Options.Progress.
func (b *Bar) AddFile(file string, n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.files[file] += n
	if size, ok := b.sizes[file]; ok && b.files[file] >= size {
		delete(b.files, file)
	}
}

// drawLocked redraws the bar's line, fitted to the terminal's width.
// drawMu is held.
func (b *Bar) drawLocked() {
	b.mu.Lock()
	done, total := b.done, b.total
	names := make([]string, 0, len(b.files))
	for f := range b.files {
		names = append(names, f)
	}
	b.mu.Unlock()
	sort.Strings(names)
	line := Fit(Line(b.label, b.unit, done, total, time.Since(b.start), names), Width(b.w)-1)
	io.WriteString(b.w, "\r"+line+"\x1b[K")
	b.shown = true
}

// Stop ends the bar and clears its line.
func (b *Bar) Stop() {
	if b == nil {
		return
	}
	b.once.Do(func() {
		close(b.quit)
		b.wg.Wait()
		drawMu.Lock()
		defer drawMu.Unlock()
		if active == b {
			active = nil
		}
		if b.shown {
			io.WriteString(b.w, "\r\x1b[K")
		}
	})
}

// Println writes line and a newline to w. On a terminal it first clears
// the line a bar may be drawing there, and draws the bar again below the
// line, so the two never share a line. It is safe for concurrent use with
// itself and with every bar.
func Println(w io.Writer, line string) {
	drawMu.Lock()
	defer drawMu.Unlock()
	if !IsTerminal(w) {
		io.WriteString(w, line+"\n")
		return
	}
	io.WriteString(w, "\r\x1b[K"+line+"\n")
	if active != nil && active.w == w && active.shown {
		active.drawLocked()
	}
}

// Line renders a bar's text: "verify 512.00 MiB / 1.00 GiB (50.0%)  537
// MB/s  ETA 1s  a.safetensors +1" for bytes, "list 120 / 400 files
// (30.0%)  ETA 2s" for items; the rate and time left once something is
// done, the first of the active files and how many more. A total not yet
// known (0: the files are still being listed) shows the count alone.
func Line(label string, unit Unit, done, total int64, elapsed time.Duration, active []string) string {
	var s bytes.Buffer
	amount := func(n int64) string {
		if unit == Bytes {
			return textfmt.Bytes(n)
		}
		return fmt.Sprint(n)
	}
	fmt.Fprintf(&s, "%s %s", label, amount(done))
	if total > 0 {
		fmt.Fprintf(&s, " / %s", amount(total))
	}
	if unit != Bytes {
		fmt.Fprintf(&s, " %s", unit)
	}
	if total > 0 {
		fmt.Fprintf(&s, " (%.1f%%)", 100*float64(done)/float64(total))
	}
	if sec := elapsed.Seconds(); sec > 0 && done > 0 {
		rate := float64(done) / sec
		if unit == Bytes {
			fmt.Fprintf(&s, "  %.0f MB/s", rate/1e6)
		}
		if total > 0 {
			eta := time.Duration(float64(max(total-done, 0)) / rate * float64(time.Second)).Round(time.Second)
			fmt.Fprintf(&s, "  ETA %s", eta)
		}
	}
	if len(active) > 0 {
		fmt.Fprintf(&s, "  %s", active[0])
		if len(active) > 1 {
			fmt.Fprintf(&s, " +%d", len(active)-1)
		}
	}
	return s.String()
}
