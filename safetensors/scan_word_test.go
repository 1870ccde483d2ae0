package safetensors

import (
	"math/rand/v2"
	"testing"
)

// TestHasSpecial checks the word-at-a-time test against the byte table
// strSpecial: every byte value at every position of a word otherwise
// filled with one ordinary byte (each of the 253 there are), and random
// words, many of them with bytes near the special ones (0x1f, 0x20, 0x21,
// 0x5b, 0x5d, 0x80, 0xff) where a borrow or a carry would show.
func TestHasSpecial(t *testing.T) {
	want := func(w uint64) bool {
		for k := range 8 {
			if strSpecial[byte(w>>(8*k))] {
				return true
			}
		}
		return false
	}
	check := func(w uint64) {
		t.Helper()
		if got := hasSpecial(w); got != want(w) {
			t.Fatalf("hasSpecial(%#016x) = %v, want %v", w, got, !got)
		}
	}
	for fill := range 256 {
		if strSpecial[fill] {
			continue
		}
		base := uint64(fill) * 0x0101010101010101
		check(base)
		for pos := range 8 {
			for c := range 256 {
				check(base&^(0xff<<(8*pos)) | uint64(c)<<(8*pos))
			}
		}
	}
	near := []byte{0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1 << 20 {
		w := r.Uint64()
		for k := range 8 {
			if r.IntN(2) == 0 {
				w = w&^(0xff<<(8*k)) | uint64(near[r.IntN(len(near))])<<(8*k)
			}
		}
		check(w)
	}
}

// TestStrAcrossWords: a string's end, escape or control byte is found
// wherever it falls in the eight-byte words, and a string that runs past
// the input is cut short.
func TestStrAcrossWords(t *testing.T) {
	for n := range 40 {
		body := make([]byte, n)
		for i := range body {
			body[i] = 'a' + byte(i%26)
		}
		for _, tail := range []string{`"`, `\n"`, "\x01\"", ""} {
			s := `"` + string(body) + tail + `,"next"`
			if tail == "" {
				s = `"` + string(body)
			}
			sc := &scanner{s: s}
			got, err := sc.str()
			switch tail {
			case `"`:
				if err != nil || got != string(body) || sc.i != n+2 {
					t.Errorf("str(%q) = %q, %v, at %d; want %q at %d", s, got, err, sc.i, body, n+2)
				}
			case `\n"`:
				if err != nil || got != string(body)+"\n" {
					t.Errorf("str(%q) = %q, %v; want %q", s, got, err, string(body)+"\n")
				}
			case "\x01\"":
				if err == nil || err.Offset != int64(n+1) {
					t.Errorf("str(%q) = %q, %v; want the control character at %d", s, got, err, n+1)
				}
			default:
				if err == nil {
					t.Errorf("str(%q) = %q, nil; want an error for the unterminated string", s, got)
				}
			}
		}
	}
}
