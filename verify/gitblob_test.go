package verify_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/verify"
)

// gitBlobID is Git's object id of a blob: the SHA-1 of "blob SIZE\x00"
// and the content.
func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestGitBlobIDFormula(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin`
	if got := gitBlobID([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("gitBlobID(hello) = %s", got)
	}
}

// Files without a sha256 to compare with (a Hub repository's config.json
// and index, not stored with LFS) are checked against their Git blob id.
func TestVerifyGitBlob(t *testing.T) {
	dir := "../testdata/tiny/hf-bf16"
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	config, index := read("config.json"), read("model.safetensors.index.json")
	const shard = "model-00001-of-00002.safetensors"
	good := map[string]string{"config.json": gitBlobID(config), "model.safetensors.index.json": strings.ToUpper(gitBlobID(index)),
		shard: strings.Repeat("0", 40)} // the shard has a sha256 expected: its Git blob id is not checked
	sums := manifestSHA256(t)
	expected := map[string]string{shard: sums["hf-bf16/"+shard]}

	r := runVerify(t, dir, verify.Options{Expected: expected, ExpectedGitBlob: good})
	if !r.Pass {
		t.Fatalf("findings %+v, want none", r.Findings)
	}
	for _, f := range r.Files {
		switch f.Name {
		case "config.json", "model.safetensors.index.json":
			if f.Status != "ok" || f.ExpectedFrom != "Hub Git blob id" || f.GitBlob != strings.ToLower(good[f.Name]) {
				t.Errorf("%s: %+v; want ok by its Git blob id", f.Name, f)
			}
		case shard:
			if f.Status != "ok" || f.GitBlob != "" || f.Expected == "" {
				t.Errorf("%s: %+v; want ok by its sha256, no Git blob id", f.Name, f)
			}
		}
	}

	lying := map[string]string{"config.json": gitBlobID(append(config, ' '))}
	r = runVerify(t, dir, verify.Options{ExpectedGitBlob: lying})
	got := findings(r)
	if r.Pass || len(got) != 1 || got[0] != (finding{Check: verify.CheckGitBlob, File: "config.json"}) {
		t.Fatalf("findings %+v, want one %s naming config.json", got, verify.CheckGitBlob)
	}
	if f := r.Findings[0]; f.Expected != lying["config.json"] || f.Actual != gitBlobID(config) {
		t.Errorf("finding %+v; want expected %s, actual %s", f, lying["config.json"], gitBlobID(config))
	}
}
