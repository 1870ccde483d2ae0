package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies the files of the committed folder src into a new
// temporary folder.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := tb.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

type completeJSON struct {
	Pass      bool
	Verdict   string
	Headline  string
	Unchecked int
	Files     []struct {
		Name, Status string
		ExpectedFrom string `json:"expected_from"`
	}
	Findings []struct{ Check, File, Message string }
}

func verifyComplete(tb testing.TB, wantCode int, args ...string) completeJSON {
	tb.Helper()
	stdout, stderr, code := cli(tb, append([]string{"verify", "--json"}, args...)...)
	var r completeJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != wantCode {
		tb.Fatalf("verify %v: exit %d (want %d), %v: %s\n%s", args, code, wantCode, err, stderr, stdout)
	}
	return r
}

// A download missing a shard the index names is not complete: verify
// fails naming the shard (it passed before, every file present being
// intact).
func TestVerifyAbsentShard(t *testing.T) {
	dir := copyDir(t, "../../testdata/tiny/hf-f32")
	const shard = "model-00002-of-00002.safetensors"
	if err := os.Remove(filepath.Join(dir, shard)); err != nil {
		t.Fatal(err)
	}
	r := verifyComplete(t, exitProblems, dir)
	if r.Pass || r.Verdict != "fail" || len(r.Findings) != 1 || r.Findings[0].Check != "VERIFY-MISSING-FILE" || r.Findings[0].File != shard ||
		!strings.Contains(r.Findings[0].Message, "tensor(s) missing because of it") || !strings.HasPrefix(r.Headline, "FAIL  ") {
		t.Errorf("verify without %s: %+v; want one VERIFY-MISSING-FILE naming it", shard, r)
	}
}

// A part of a split GGUF set given alone, under any name, is found by its
// split.* keys: exit 1 naming the missing part.
func TestVerifyLoneSplitPart(t *testing.T) {
	b, err := os.ReadFile("../../testdata/tiny/gguf/tiny-q8_0-00001-of-00002.gguf")
	if err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(lone, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"verify", "inspect", "audit"} {
		_, stderr, code := cli(t, cmd, lone)
		if code != exitProblems || !strings.Contains(stderr, "split.count says 2 parts and it is part 1, given alone: missing part(s) 2 of 2") {
			t.Errorf("%s of a lone split part: exit %d, stderr %q; want 1 naming the missing part", cmd, code, stderr)
		}
	}
}

// A local folder verified against nothing says so in its headline, and
// --require-digests makes it a failure.
func TestVerifyNoReferenceDigest(t *testing.T) {
	r := verifyComplete(t, exitOK, "../../testdata/tiny/hf-f32")
	if !r.Pass || r.Unchecked != len(r.Files) || !strings.Contains(r.Headline, "data checks only") || !strings.Contains(r.Headline, "compared with nothing") {
		t.Errorf("verify of a plain folder: %+v; want a pass whose headline says nothing was compared", r)
	}
	r = verifyComplete(t, exitProblems, "../../testdata/tiny/hf-f32", "--require-digests")
	if r.Pass || len(r.Findings) != len(r.Files) {
		t.Errorf("--require-digests: %+v; want one VERIFY-NO-DIGEST per file", r)
	}
	for _, f := range r.Findings {
		if f.Check != "VERIFY-NO-DIGEST" {
			t.Errorf("--require-digests finding %+v", f)
		}
	}
}

// The Hugging Face cache stores each file as a blob named by its digest
// (LFS files by sha256, others by Git blob id), the snapshot linking to
// it: verify checks the files against those names with no network, so a
// cached blob whose bytes changed fails.
func TestVerifyHFCacheBlobNames(t *testing.T) {
	src := "../../testdata/tiny/hf-f32"
	root := t.TempDir()
	blobs, snap := filepath.Join(root, "blobs"), filepath.Join(root, "snapshots", "0123abcd")
	for _, d := range []string{blobs, snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(src)
	var tamper string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%x", sha256.Sum256(b)) // LFS: the sha256
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			h := sha1.New() // a plain Git file: its blob id
			fmt.Fprintf(h, "blob %d\x00", len(b))
			h.Write(b)
			id = hex.EncodeToString(h.Sum(nil))
		} else if tamper == "" {
			tamper = filepath.Join(blobs, id)
		}
		if err := os.WriteFile(filepath.Join(blobs, id), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", id), filepath.Join(snap, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	r := verifyComplete(t, exitOK, snap)
	if r.Unchecked != 0 || len(r.Files) != len(entries) {
		t.Fatalf("verify of a cache snapshot: %+v; want every file checked against its blob name", r)
	}
	for _, f := range r.Files {
		if f.Status != "ok" || (f.ExpectedFrom != "Hugging Face cache blob name" && f.ExpectedFrom != "Hub Git blob id") {
			t.Errorf("file %+v; want ok against its blob name", f)
		}
	}
	b, _ := os.ReadFile(tamper)
	b[len(b)-1] ^= 1
	if err := os.WriteFile(tamper, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = verifyComplete(t, exitProblems, snap)
	if len(r.Findings) != 1 || r.Findings[0].Check != "VERIFY-SHA256" {
		t.Errorf("verify after a cached blob changed: %+v; want one VERIFY-SHA256", r.Findings)
	}
}
