package main

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/weightaudit/weightaudit/hub"
)

// sha512Layer is a layer whose digest is its SHA-512, as an OCI descriptor
// may give it.
type sha512Layer struct {
	data []byte
	mt   types.MediaType
}

func (l sha512Layer) Digest() (v1.Hash, error) {
	sum := sha512.Sum512(l.data)
	return v1.Hash{Algorithm: "sha512", Hex: hex.EncodeToString(sum[:])}, nil
}
func (l sha512Layer) DiffID() (v1.Hash, error) { return l.Digest() }
func (l sha512Layer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}
func (l sha512Layer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }
func (l sha512Layer) Size() (int64, error)                 { return int64(len(l.data)), nil }
func (l sha512Layer) MediaType() (types.MediaType, error)  { return l.mt, nil }

// A raw layer whose OCI digest is sha512: verify computes the SHA-512 and
// compares it (ok when intact, VERIFY-SHA512 when a byte changed), never
// calling the file unchecked or "inside a tar layer".
func TestVerifyOCISHA512Layer(t *testing.T) {
	host, tp := ociRegistry(t)
	data := readTiny(t, "gguf/tiny-f16.gguf")
	layer := sha512Layer{data: data, mt: hub.MediaDockerGGUF}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), hub.MediaDockerConfigV01)
	img, err := mutate.Append(img, mutate.Addendum{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/models/tiny:sha512", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := layer.Digest()
	src := "oci://" + host + "/models/tiny:sha512"

	type report struct {
		Pass  bool
		Files []struct {
			Name, Status, Note string
			Expected           string `json:"expected_sha512"`
			SHA512             string
		}
		Findings []struct{ Check, File, Expected, Actual string }
	}
	run := func(wantCode int) report {
		t.Helper()
		stdout, stderr, code := cli(t, "verify", src, "--json")
		var r report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != wantCode {
			t.Fatalf("verify %s: exit %d (want %d), %v: %s\n%s", src, code, wantCode, err, stderr, stdout)
		}
		return r
	}
	r := run(exitOK)
	if len(r.Files) != 1 || r.Files[0].Status != "ok" || r.Files[0].Expected != d.Hex || r.Files[0].SHA512 != d.Hex || r.Files[0].Note != "" {
		t.Errorf("intact sha512 layer: files %+v; want one ok against sha512:%s", r.Files, d.Hex[:12])
	}

	tp.off.Store(int64(len(data) - 10))
	tp.digest.Store(d.String())
	r = run(exitProblems)
	sum := sha512.Sum512(append(append([]byte{}, data[:len(data)-10]...), append([]byte{data[len(data)-10] ^ 0x40}, data[len(data)-9:]...)...))
	if len(r.Findings) != 1 || r.Findings[0].Check != "VERIFY-SHA512" || r.Findings[0].Expected != d.Hex || r.Findings[0].Actual != hex.EncodeToString(sum[:]) ||
		r.Files[0].Status != "mismatch" {
		t.Errorf("tampered sha512 layer: files %+v, findings %+v; want one VERIFY-SHA512 mismatch", r.Files, r.Findings)
	}
}
