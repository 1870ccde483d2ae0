// Package ptytest gives tests a real pseudo-terminal to write to and
// reads back what it shows: the terminal side of what termui draws.
package ptytest

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Open opens a pseudo-terminal of cols columns and returns its terminal
// side (what a program writes to) and a function that returns everything
// written to it so far, read from the controlling side. It skips the test
// where no pseudo-terminal can be opened.
func Open(tb testing.TB, cols uint16) (*os.File, func() string) {
	tb.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		tb.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		tb.Fatal(err)
	}
	var (
		mu   sync.Mutex
		got  bytes.Buffer
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			got.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-done
	})
	return tty, func() string {
		mu.Lock()
		defer mu.Unlock()
		return got.String()
	}
}

// WaitFor polls read until it holds want and returns what it read,
// failing the test after 10 s (showing the last 2,000 bytes read).
func WaitFor(tb testing.TB, read func() string, want string) string {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := read()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			if len(s) > 2000 {
				s = "…" + s[len(s)-2000:]
			}
			tb.Fatalf("the terminal never showed %q; it showed %q", want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ScreenLines renders what a terminal shows of out, line by line: the line
// discipline's "\r\n" ends a line, a carriage return starts it again and
// "\x1b[K" clears to its end (the bar's line is always written from its
// start, so clearing the rest changes nothing here).
func ScreenLines(out string) []string {
	out = strings.ReplaceAll(out, "\x1b[K", "")
	out = strings.ReplaceAll(out, "\r\n", "\n")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		lines = append(lines, l)
	}
	return lines
}
