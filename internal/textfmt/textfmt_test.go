package textfmt_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

func TestNumbers(t *testing.T) {
	tests := []struct {
		n                      int64
		count, params, byteStr string
	}{
		{0, "0", "0", "0 B"},
		{999, "999", "999", "999 B"},
		{1024, "1,024", "1.02 K", "1.00 KiB"},
		{-1234567, "-1,234,567", "-1234567", "-1.18 MiB"},              // 1,234,567 / 2^20 = 1.177…
		{235_093_634_560, "235,093,634,560", "235.09 B", "218.95 GiB"}, // 235093634560 / 2^30 = 218.95
		{22_190_763_520, "22,190,763,520", "22.19 B", "20.67 GiB"},     // / 2^30 = 20.666
		{1 << 50, "1,125,899,906,842,624", "1125899.91 B", "1.00 PiB"}, // the largest unit
	}
	for _, tt := range tests {
		if got := textfmt.Count(tt.n); got != tt.count {
			t.Errorf("Count(%d) = %q, want %q", tt.n, got, tt.count)
		}
		if got := textfmt.Params(tt.n); got != tt.params {
			t.Errorf("Params(%d) = %q, want %q", tt.n, got, tt.params)
		}
		if got := textfmt.Bytes(tt.n); got != tt.byteStr {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.byteStr)
		}
	}
}

// TestBytesNegative: a shortfall (plan's least free of a machine that does
// not fit) is its magnitude in its unit with an ASCII minus, as a positive
// count is formatted; the most negative int64 too (2^63 / 2^50 = 8192).
func TestBytesNegative(t *testing.T) {
	for n, want := range map[int64]string{
		-36_511_426_560: "-34.00 GiB", // 36511426560 / 2^30 = 34.0039
		-1000:           "-1000 B",
		-1 << 63:        "-8192.00 PiB",
	} {
		if got := textfmt.Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

// A Printer keeps its first error and writes nothing after it.
func TestPrinter(t *testing.T) {
	var b bytes.Buffer
	p := &textfmt.Printer{W: &b}
	p.F("%s %d\n", "a", 1)
	if b.String() != "a 1\n" || p.Err != nil {
		t.Errorf("wrote %q, %v", b.String(), p.Err)
	}
	fw := &failWriter{}
	p = &textfmt.Printer{W: fw}
	p.F("x")
	p.F("y")
	if p.Err == nil || fw.n != 1 {
		t.Errorf("after a failed write: err %v, %d writes; want the error and no second write", p.Err, fw.n)
	}
	if textfmt.Verdict(true) != "PASS" || textfmt.Verdict(false) != "FAIL" {
		t.Error("Verdict")
	}
}

func TestMarkdownCells(t *testing.T) {
	if got := textfmt.MDEscape("a|b||c"); got != `a\|b\|\|c` {
		t.Errorf("MDEscape = %q", got)
	}
	if got := textfmt.MDCode("blk.0`x"); got != "`blk.0'x`" {
		t.Errorf("MDCode = %q", got)
	}
	if got := textfmt.MDCode(""); got != "" {
		t.Errorf(`MDCode("") = %q, want ""`, got)
	}
}

func TestIcon(t *testing.T) {
	for status, want := range map[string]string{"pass": "✅", "PASS": "✅", "fail": "❌", "FAIL": "❌", "skip": "➖", "SKIP": "➖", "incomplete": "➖", "": "➖"} {
		if got := textfmt.Icon(status); got != want {
			t.Errorf("Icon(%q) = %q, want %q", status, got, want)
		}
	}
	if textfmt.PassIcon(true) != "✅" || textfmt.PassIcon(false) != "❌" {
		t.Errorf("PassIcon: %q, %q", textfmt.PassIcon(true), textfmt.PassIcon(false))
	}
}

func TestFirstOf(t *testing.T) {
	for _, tt := range []struct {
		n     int
		noun  string
		first string
		want  string
	}{
		{1, "finding", "a.safetensors: sha256 differs", "a.safetensors: sha256 differs"},
		{2, "finding", "x", "2 findings; the first: x"},
		{12345, "metadata finding", "y", "12,345 metadata findings; the first: y"},
	} {
		if got := textfmt.FirstOf(tt.n, tt.noun, tt.first); got != tt.want {
			t.Errorf("FirstOf(%d, %q, %q) = %q, want %q", tt.n, tt.noun, tt.first, got, tt.want)
		}
	}
}
