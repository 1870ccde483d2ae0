package hub_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
)

// FuzzRangeRead checks a remote file against bytes.Reader: any sequence of
// reads, under any read-ahead sizes, with faults the retries must absorb
// injected between them, gives the same bytes, counts and io.EOF.
//
// The input is a config (first read and max read sizes) followed by 8-byte
// operations: an offset, a length and a kind (read, or a fault to inject
// before the next read).
func FuzzRangeRead(f *testing.F) {
	data := randomBytes(1<<20+123, 5)
	fh := newFakeHub(f, memFiles(map[string][]byte{"f.gguf": data}))
	ref := bytes.NewReader(data)
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()} // one pool for every run

	op := func(off uint32, n uint16, kind byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, off)
		b = binary.LittleEndian.AppendUint16(b, n)
		return append(b, kind, 0)
	}
	seed := func(cfg []byte, ops ...[]byte) []byte {
		return append(cfg, bytes.Join(ops, nil)...)
	}
	f.Add(seed([]byte{0, 0}, op(0, 8, 0), op(8, 40000, 0)))
	f.Add(seed([]byte{4, 16}, op(0, 65535, 0), op(65535, 65535, 0), op(131070, 65535, 0)))
	f.Add(seed([]byte{1, 1}, op(1<<20, 65535, 0), op(0, 1, 0), op(1<<20+100, 100, 0)))
	f.Add(seed([]byte{2, 3}, op(0, 0, 4), op(0, 30000, 0), op(0, 0, 5), op(500000, 30000, 0)))
	f.Add(seed([]byte{9, 9}, op(0, 0, 6), op(100, 1000, 0), op(0, 0, 4), op(5000, 60000, 0)))

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		fh.clearFaults()
		opts := hub.HFOptions{
			FirstRead: 1 << (10 + in[0]%8), // 1 KiB … 128 KiB
			MaxRead:   1 << (10 + in[1]%9), // 1 KiB … 256 KiB
			Backoff:   time.Microsecond,
			Client:    client,
		}
		opts.FirstRead = min(opts.FirstRead, opts.MaxRead)
		src := newSource(t, fh, "", opts, nil)
		file, err := src.Open(context.Background(), "f.gguf")
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		in = in[2:]
		faults := 0 // at most 5, the default retries, so every read must succeed
		for i := 0; len(in) >= 8 && i < 32; i, in = i+1, in[8:] {
			off := int64(binary.LittleEndian.Uint32(in)) % (int64(len(data)) + 1000)
			n := int(binary.LittleEndian.Uint16(in[4:]))
			kind := in[6] % 8
			if kind >= 4 && kind <= 6 {
				if faults == 5 {
					continue
				}
				faults++
			}
			switch kind {
			case 4:
				fh.addFault("storage", truncatedFault(data))
				continue
			case 5:
				fh.addFault("storage", statusFault(http.StatusInternalServerError, ""))
				continue
			case 6:
				fh.addFault("storage", resetFault)
				continue
			}
			got, want := make([]byte, n), make([]byte, n)
			gn, gerr := file.ReadAt(got, off)
			wn, werr := ref.ReadAt(want, off)
			if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || (gerr == nil) != (werr == nil) ||
				(werr == io.EOF && gerr != io.EOF) {
				t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; bytes.Reader gives %d, %v", n, off, gn, gerr, wn, werr)
			}
		}
	})
}
