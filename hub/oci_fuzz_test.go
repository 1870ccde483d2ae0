package hub

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// tarOf archives files (name, content pairs) and compresses the archive
// as kind k says.
func tarOf(tb testing.TB, k layerKind, files ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser = nopWriteCloser{&buf}
	switch k {
	case kindTarGzip:
		w = gzip.NewWriter(&buf)
	case kindTarZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			tb.Fatal(err)
		}
		w = zw
	}
	tw := tar.NewWriter(w)
	for i := 0; i+1 < len(files); i += 2 {
		tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	w.Close()
	return buf.Bytes()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// FuzzReadTar feeds hostile bytes to the tar layer reader as each kind of
// tar layer. Invariants: no panic; every file kept is a clean relative
// path whose kept front is no longer than the file nor the cap; ReadAt at
// any offset either serves bytes or fails, never panics.
func FuzzReadTar(f *testing.F) {
	st, _ := os.ReadFile("../testdata/tiny/hf-f32/model-00001-of-00002.safetensors")
	gg, _ := os.ReadFile("../testdata/tiny/gguf/tiny-q8_0-00002-of-00002.gguf")
	// Small seeds (the front of each file) keep the fuzzer fast.
	st, gg = st[:min(len(st), 1024)], gg[:min(len(gg), 1024)]
	for _, k := range []layerKind{kindTar, kindTarGzip, kindTarZstd} {
		f.Add(byte(k), tarOf(f, k, "model.safetensors", string(st), "config.json", "{}"))
		f.Add(byte(k), tarOf(f, k, "a/model.gguf", string(gg)))
		f.Add(byte(k), tarOf(f, k, "../evil", "x"))
		f.Add(byte(k), tarOf(f, k, "x.safetensors", "\xff\xff\xff\xff\xff\xff\xff\x7f"))
		f.Add(byte(k), tarOf(f, k, "x.gguf", "GGUF\x03\x00\x00\x00"))
	}
	f.Add(byte(kindTar), []byte("not a tar"))
	f.Fuzz(func(t *testing.T, k byte, data []byte) {
		kind := kindTar + layerKind(k%3)
		l := v1.Descriptor{Size: int64(len(data))}
		files, err := readTar(context.Background(), bytes.NewReader(data), l, kind, "fuzz", readModelHeader)
		if err != nil {
			return
		}
		for _, pf := range files {
			if cleanName(pf.name) != pf.name {
				t.Fatalf("member name %q is not clean", pf.name)
			}
			if int64(len(pf.data)) > pf.size || len(pf.data) > maxMemberPrefix {
				t.Fatalf("%s: kept %d bytes of %d", pf.name, len(pf.data), pf.size)
			}
			buf := make([]byte, 64)
			for _, off := range []int64{0, pf.size / 2, pf.size - 1, pf.size, int64(len(pf.data)) - 1} {
				n, err := pf.ReadAt(buf, off)
				if n < len(buf) && err == nil {
					t.Fatalf("%s: ReadAt(%d) = %d, nil", pf.name, off, n)
				}
				if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, ErrCompressedLayer) && off >= 0 {
					t.Fatalf("%s: ReadAt(%d): unexpected error %v", pf.name, off, err)
				}
			}
		}
	})
}

// FuzzWalkTar feeds hostile bytes to the walk over an uncompressed tar
// layer's member headers, differentially: archive/tar streaming the same
// bytes (reading every member's data instead of seeking over it) must
// find the same regular files, and the bytes the walk places each file at
// must be that file's content. Other invariants: no panic; every file is
// a clean relative path inside the layer.
func FuzzWalkTar(f *testing.F) {
	st, _ := os.ReadFile("../testdata/tiny/hf-f32/model-00001-of-00002.safetensors")
	st = st[:min(len(st), 1024)]
	f.Add(tarOf(f, kindTar, "model.safetensors", string(st), "config.json", "{}"))
	f.Add(tarOf(f, kindTar, strings.Repeat("n", 120)+".gguf", "GGUF\x03\x00\x00\x00", "d/", ""))
	f.Add(tarOf(f, kindTar, "../evil", "x"))
	f.Add(tarOf(f, kindTar, "a", "1", "b", "22", "c", "333"))
	f.Add(tarOf(f, kindTar, "a", "1")[:600])
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		cur := &blobCursor{size: int64(len(data)), read: func(p []byte, off int64) error {
			n, err := r.ReadAt(p, off)
			if n == len(p) {
				return nil
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}}
		members, err := walkTar(context.Background(), cur, ociBlob{size: int64(len(data))}, v1.Descriptor{}, "fuzz")
		if err != nil {
			return
		}
		// archive/tar over a plain stream (no Seek) reads every byte.
		tr := tar.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
		i := 0
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("the walk succeeded, streaming fails after %d files: %v", i, err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			if i == len(members) {
				t.Fatalf("streaming finds file %q, the walk only %d files", h.Name, len(members))
			}
			m := members[i]
			if m.name != cleanName(h.Name) || m.name == "" || m.size != h.Size {
				t.Fatalf("file %d: walk %q %d bytes, streaming %q %d bytes", i, m.name, m.size, h.Name, h.Size)
			}
			if m.off < 0 || m.off+m.size > int64(len(data)) {
				t.Fatalf("file %q: bytes %d+%d outside the %d-byte layer", m.name, m.off, m.size, len(data))
			}
			content, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("file %q: streaming its data: %v", m.name, err)
			}
			if !bytes.Equal(content, data[m.off:m.off+m.size]) {
				t.Fatalf("file %q: the walk's bytes at %d differ from its content", m.name, m.off)
			}
			i++
		}
		if i != len(members) {
			t.Fatalf("the walk finds %d files, streaming %d", len(members), i)
		}
	})
}

// FuzzParseOCI checks that ParseOCI and ParseOllama never panic and that
// a reference they accept parses again to itself.
func FuzzParseOCI(f *testing.F) {
	for _, s := range []string{"oci://localhost:5000/x:y", "oci://ghcr.io/a/b@sha256:" + string(bytes.Repeat([]byte("a"), 64)),
		"oci://r.io/x", "ollama://qwen3:8b", "ollama://h.io/ns/m", "oci://", "ollama://a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		for _, parse := range []func(string, bool) (interface{ Name() string }, error){
			func(s string, b bool) (interface{ Name() string }, error) { return ParseOCI(s, b) },
			func(s string, b bool) (interface{ Name() string }, error) { return ParseOllama(s, b) },
		} {
			ref, err := parse(spec, false)
			if err != nil {
				if !errors.Is(err, ErrBadSource) {
					t.Fatalf("%q: error %v is not ErrBadSource", spec, err)
				}
				continue
			}
			again, err := ParseOCI("oci://"+ref.Name(), false)
			if err != nil || again.Name() != ref.Name() {
				t.Fatalf("%q: %s parses again to %v, %v", spec, ref.Name(), again, err)
			}
		}
	})
}
