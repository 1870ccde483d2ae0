package verify

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// seqReaderAt serves reads that run in order from offset 0 and refuses
// any other; a stream shorter than the reads is io.ErrUnexpectedEOF.
func TestSeqReaderAt(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name  string
		reads [][2]int64 // offset, length
		want  []string
		fail  int // the index of the read that fails, -1 for none
		eof   bool
	}{
		{"in order", [][2]int64{{0, 4}, {4, 4}, {8, 2}}, []string{"0123", "4567", "89"}, -1, false},
		{"gap", [][2]int64{{0, 4}, {5, 2}}, []string{"0123"}, 1, false},
		{"back", [][2]int64{{0, 4}, {0, 4}}, []string{"0123"}, 1, false},
		{"past the end", [][2]int64{{0, 8}, {8, 4}}, []string{"01234567"}, 1, true},
		{"at the end", [][2]int64{{0, 10}, {10, 1}}, []string{"0123456789"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seqReaderAt{r: bytes.NewReader(data)}
			for i, rd := range tt.reads {
				p := make([]byte, rd[1])
				n, err := s.ReadAt(p, rd[0])
				if i == tt.fail {
					if err == nil || errors.Is(err, io.ErrUnexpectedEOF) != tt.eof {
						t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want an error (unexpected EOF: %v)", rd[1], rd[0], n, err, tt.eof)
					}
					return
				}
				if err != nil || string(p[:n]) != tt.want[i] {
					t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q", rd[1], rd[0], p[:n], err, tt.want[i])
				}
			}
		})
	}
}
