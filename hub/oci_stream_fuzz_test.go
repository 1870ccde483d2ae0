package hub

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// streamLimit is how much of a file the fuzzed visits read at most.
const streamLimit = 1 << 20

// streamedFile is what a walk over a layer found of one file: its name,
// size, and the sha256 of the bytes a visit read (the first want(i, size)
// bytes of the i-th file).
type streamedFile struct {
	name string
	size int64
	sum  string
}

// want is how much the visit of the i-th file reads: all of it (up to
// streamLimit), half of it, or none, so that the walk drains what visits
// leave.
func want(i int, size int64) int64 {
	switch i % 3 {
	case 0:
		return min(size, streamLimit)
	case 1:
		return min(size/2, streamLimit)
	}
	return 0
}

// referenceWalk reads the layer data of kind k with archive/tar over the
// decompressor, reading every member in full, and returns its regular
// files as the walk must find them, or false when the archive is damaged
// or holds what a walk refuses.
func referenceWalk(data []byte, k layerKind) ([]streamedFile, bool) {
	var r io.Reader = bytes.NewReader(data)
	switch k {
	case kindTarGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, false
		}
		r = zr
	case kindTarZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, false
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var out []streamedFile
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil || entries == maxTarMembers {
			return nil, false
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if cleanName(h.Name) == "" || h.Size < 0 || sparse(h) {
			return nil, false
		}
		data, err := io.ReadAll(io.LimitReader(tr, streamLimit))
		if err != nil {
			return nil, false
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, false
		}
		s := sha256.Sum256(data[:min(want(len(out), h.Size), int64(len(data)))])
		out = append(out, streamedFile{name: cleanName(h.Name), size: h.Size, sum: hex.EncodeToString(s[:])})
	}
	if k != kindTar {
		if _, err := io.CopyN(io.Discard, r, maxTrailing); err != nil && err != io.EOF {
			return nil, false
		}
	}
	return out, true
}

// FuzzStreamLayer feeds hostile bytes to the walk of StreamLayer as each
// kind of streamed layer, differentially against archive/tar reading every
// member in full. Invariants: no panic; the sha256 returned is that of
// every byte given, with or without a damaged archive; the error is nil
// or a *LayerError wrapping ErrBadArchive, naming a file the walk visited
// (or none) and an offset inside it; visit is handed clean names and at
// most the size the header gives; when the walk succeeds, it found the
// files the reference found, with the same bytes; when the reference
// succeeds, so does the walk.
func FuzzStreamLayer(f *testing.F) {
	st, _ := os.ReadFile("../testdata/tiny/hf-f32/model-00001-of-00002.safetensors")
	st = st[:min(len(st), 2048)]
	for _, k := range []layerKind{kindTar, kindTarGzip, kindTarZstd} {
		f.Add(byte(k), tarOf(f, k, "model.safetensors", string(st), "config.json", "{}", "docs/x", "abc"))
		f.Add(byte(k), tarOf(f, k, "../evil", "x"))
		f.Add(byte(k), tarOf(f, k))
		full := tarOf(f, k, "a", string(st))
		f.Add(byte(k), full[:len(full)/2])
		flipped := bytes.Clone(full)
		flipped[len(flipped)*2/3] ^= 0x40
		f.Add(byte(k), flipped)
	}
	f.Add(byte(kindTarZstd), []byte("not a zstd stream"))
	f.Fuzz(func(t *testing.T, k byte, data []byte) {
		kind := kindTar + layerKind(k%3)
		var got []streamedFile
		visit := func(name string, size int64, r io.Reader) error {
			if cleanName(name) != name || size < 0 {
				t.Fatalf("visit(%q, %d): not a clean name, or a negative size", name, size)
			}
			n := want(len(got), size)
			h := sha256.New()
			k, err := io.Copy(h, io.LimitReader(r, n))
			if k > size {
				t.Fatalf("visit(%q): read %d bytes of %d", name, k, size)
			}
			got = append(got, streamedFile{name: name, size: size, sum: hex.EncodeToString(h.Sum(nil))})
			return err
		}
		w := &layerWalk{digest: "sha256:fuzz", what: "fuzz", kind: kind, visit: visit,
			blob: &blobStream{ctx: context.Background(), r: bytes.NewReader(data), h: sha256.New()}}
		sum, err := w.run(context.Background())
		all := sha256.Sum256(data)
		var le *LayerError
		switch {
		case err == nil:
		case errors.As(err, &le) && errors.Is(err, ErrBadArchive):
			if le.Offset < 0 {
				t.Fatalf("LayerError %v: negative offset", le)
			}
			if le.File != "" {
				last := got[len(got)-1]
				if le.File != last.name || le.Offset > last.size {
					t.Fatalf("LayerError names %q at offset %d; the last file visited is %q of %d bytes", le.File, le.Offset, last.name, last.size)
				}
			}
		default:
			t.Fatalf("run = %v, want nil or a *LayerError wrapping ErrBadArchive", err)
		}
		if sum != hex.EncodeToString(all[:]) {
			t.Fatalf("run = sha256 %s, want that of the %d bytes given", sum, len(data))
		}
		ref, ok := referenceWalk(data, kind)
		if ok != (err == nil) {
			t.Fatalf("run = %v; the reference walk succeeds: %v", err, ok)
		}
		if ok {
			if len(got) != len(ref) {
				t.Fatalf("walk found %d files, the reference %d", len(got), len(ref))
			}
			for i := range ref {
				if got[i] != ref[i] {
					t.Fatalf("file %d: walk %+v, reference %+v", i, got[i], ref[i])
				}
			}
		}
	})
}
