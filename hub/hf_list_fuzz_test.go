package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodeListing feeds the listing decoders arbitrary answers. They
// must not panic; what they accept must be a listing (valid names,
// sizes, one entry a file); and what the models API decoder accepts must
// be what encoding/json makes of the same answer, decoded whole as
// before, through the same listing.
func FuzzDecodeListing(f *testing.F) {
	for _, seed := range []string{
		`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json","size":2,"blobId":"0123456789abcdef0123456789abcdef01234567"},{"rfilename":"m.safetensors","size":9,"lfs":{"sha256":"` + strings.Repeat("ab", 32) + `","size":9}}],"spaces":["a/b"],"cardData":{"x":[1,{"y":null}]}}`,
		`{"SHA":"x","Siblings":[{"rfilename":"a"}]}`,
		`{"siblings":[{"rfilename":".hidden/x","size":1},{"rfilename":"sub/y","size":2}]}`,
		`{"siblings":null}`,
		`null`,
		`[{"type":"file","path":"a/b","oid":"0123456789abcdef0123456789abcdef01234567","size":3},{"type":"directory","path":"a"}]`,
		`[{"type":"file","path":"m.gguf","size":1,"lfs":{"oid":"` + strings.Repeat("cd", 32) + `","size":7}}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newListing("")
		commit, sized, err := decodeModelInfoAll(b, l)
		if err == nil {
			checkListing(t, l)
			// The reference: the whole answer decoded by encoding/json.
			var info struct {
				SHA      *string     `json:"sha"`
				Siblings []hfSibling `json:"siblings"`
			}
			if rerr := json.Unmarshal(b, &info); rerr != nil {
				t.Fatalf("decodeModelInfo accepted what json.Unmarshal rejects: %v\n%q", rerr, b)
			}
			ref, refSized := newListing(""), true
			var addErr error
			for _, sb := range info.Siblings {
				var size int64
				sha := ""
				if sb.LFS != nil {
					size, sha = sb.LFS.Size, sb.LFS.SHA256
				}
				if sb.Size != nil {
					size = *sb.Size
				} else if sb.LFS == nil {
					refSized = false
					break
				}
				if addErr = ref.add(sb.RFilename, size, sha, sb.BlobID); addErr != nil {
					break
				}
			}
			refCommit := ""
			if info.SHA != nil && isHex(*info.SHA, 40) {
				refCommit = strings.ToLower(*info.SHA)
			}
			if addErr != nil || commit != refCommit || sized != refSized ||
				sized && !slices.Equal(ref.files, l.files) {
				t.Fatalf("decodeModelInfo = %q, sized %v, %d files; reference %q, sized %v, %d files, %v\n%q",
					commit, sized, len(l.files), refCommit, refSized, len(ref.files), addErr, b)
			}
		}
		l = newListing("")
		if err := decodeAll(json.NewDecoder(bytes.NewReader(b)), func(dec *json.Decoder) error { return decodeTreePage(dec, l) }); err == nil {
			checkListing(t, l)
		}
	})
}

// decodeModelInfoAll decodes a whole models API answer held in b.
func decodeModelInfoAll(b []byte, l *listing) (commit string, sized bool, err error) {
	err = decodeAll(json.NewDecoder(bytes.NewReader(b)), func(dec *json.Decoder) error {
		commit, sized, err = decodeModelInfo(dec, l)
		return err
	})
	return commit, sized, err
}

// checkListing checks the invariants of a listing a decoder returned.
func checkListing(t *testing.T, l *listing) {
	t.Helper()
	if len(l.files) != len(l.entries) || len(l.files) > maxListingFiles {
		t.Fatalf("%d files, %d entries", len(l.files), len(l.entries))
	}
	for _, fi := range l.files {
		e, ok := l.entries[fi.Name]
		if !ok || !fs.ValidPath(fi.Name) || fi.Size < 0 || e.size != fi.Size {
			t.Fatalf("file %q, size %d: entry %+v, %v", fi.Name, fi.Size, e, ok)
		}
		if n := e.sha256.n; n != 0 && n != 32 || e.blob.n != 0 && e.blob.n != 20 && e.blob.n != 32 {
			t.Fatalf("file %q: digests of %d and %d bytes", fi.Name, e.sha256.n, e.blob.n)
		}
	}
}

// TestDecodeListingErrors checks what the decoders reject, and that a
// rejection in a listing's content (not its JSON) says so.
func TestDecodeListingErrors(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool // wraps ErrBadResponse
	}{
		{`{"sha":"a","sha":"b"}`, `key "sha" twice`, true},
		{`{"siblings":[],"SIBLINGS":[]}`, `key "SIBLINGS" twice`, true},
		{`{"siblings":{}}`, `want an array`, false},
		{`[]`, `want an object`, false},
		{`{"siblings":[{"rfilename":"../x","size":1}]}`, `file name "../x"`, true},
		{`{"siblings":[{"rfilename":"x","size":-1}]}`, `size -1`, true},
		{`{"siblings":[{"rfilename":"x","size":1},{"rfilename":"x","size":1}]}`, `listed twice`, true},
		{`{} {}`, `data after the top-level value`, false},
		{`{"siblings":[`, `unexpected EOF`, false},
	} {
		_, _, err := decodeModelInfoAll([]byte(tt.in), newListing(""))
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrBadResponse) != tt.bad {
			t.Errorf("decodeModelInfo(%s) = %v, want an error with %q (ErrBadResponse: %v)", tt.in, err, tt.want, tt.bad)
		}
	}
}

// BenchmarkDecodeListing decodes the models API's answer for a repository
// of 100,000 files (the most the Hub advises), entry by entry as List
// does, without HTTP.
func BenchmarkDecodeListing(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"id":"o/r","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[`)
	for i := range 100_000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		h := fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15)
		fmt.Fprintf(&buf, `{"rfilename":"data/part-%07d.parquet","blobId":"%s","size":123456789,"lfs":{"sha256":"%s","size":123456789,"pointerSize":134}}`, i, h[:40], h)
	}
	buf.WriteString(`]}`)
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		l := newListing("")
		if _, _, err := decodeModelInfoAll(doc, l); err != nil || len(l.files) != 100_000 {
			b.Fatalf("%d files, %v", len(l.files), err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
