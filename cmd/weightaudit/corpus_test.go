package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// testdata is the repository's fixture folder, written by
// internal/fixturegen (go generate ./...).
const testdata = "../../testdata"

// result is what one run of the command line produced.
type result struct {
	err            error // what run returned
	code           int
	stdout, stderr string
}

// runCLI runs the command line as main does, turning a panic into a test
// failure that names the arguments.
func runCLI(tb testing.TB, args ...string) (res result) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Fatalf("run(%q) panicked: %v\n%s", args, r, debug.Stack())
		}
	}()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := exitCode(err, &stderr)
	return result{err: err, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// expectation is one line of testdata/bad/EXPECT: a file and the
// substrings its error must contain.
type expectation struct {
	file string // relative to testdata/bad, slash-separated
	want []string
}

func readExpect(tb testing.TB) []expectation {
	tb.Helper()
	f, err := os.Open(filepath.Join(testdata, "bad", "EXPECT"))
	if err != nil {
		tb.Fatalf("%v (run go generate ./internal/fixturegen)", err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 || fields[0] == "" || fields[1] == "" {
			tb.Fatalf("EXPECT line %d: want <file>\\t<substring>..., got %q", n, line)
		}
		out = append(out, expectation{file: fields[0], want: fields[1:]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// withoutOffset lists the corpus entries whose error cannot carry a byte
// offset because nothing in any file is malformed: a split set with a part
// missing is rejected before any part is read.
var withoutOffset = map[string]bool{
	"split-missing/corpus-00001-of-00003.gguf": true,
}

var offsetRE = regexp.MustCompile(`offset [0-9]+`)

// TestCorpusRejected inspects every file of the hostile corpus, as text and
// as JSON: each must fail with exit code 1 (the artifact is malformed),
// nothing on stdout (a JSON document saying so with --json), and one
// error line naming the file, the offset of the field at fault and every
// EXPECT substring.
func TestCorpusRejected(t *testing.T) {
	exp := readExpect(t)
	if len(exp) < 36 {
		t.Fatalf("EXPECT lists %d files, want at least 36", len(exp))
	}
	for _, e := range exp {
		t.Run(e.file, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(testdata, "bad", filepath.FromSlash(e.file))
			for _, args := range [][]string{{"inspect", p}, {"inspect", "--json", p}} {
				res := runCLI(t, args...)
				if res.code != exitProblems {
					t.Errorf("weightaudit %s: exit code %d, want %d; stderr %q", strings.Join(args, " "), res.code, exitProblems, res.stderr)
				}
				msg := res.stderr
				if args[1] == "--json" { // a document saying what happened, for the script that asked for JSON
					var doc struct {
						Pass     *bool
						Verdict  string
						Error    string
						ExitCode int `json:"exit_code"`
					}
					if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil || doc.Pass == nil || *doc.Pass || doc.Verdict != "fail" ||
						doc.ExitCode != exitProblems || !strings.Contains(msg, doc.Error) {
						t.Errorf("weightaudit %s: stdout %q (%v), want a JSON document with the error", strings.Join(args, " "), res.stdout, err)
					}
				} else if res.stdout != "" {
					t.Errorf("weightaudit %s: stdout %q, want nothing", strings.Join(args, " "), res.stdout)
				}
				if !strings.HasPrefix(msg, "weightaudit: ") || !strings.HasSuffix(msg, "\n") || strings.Count(msg, "\n") != 1 {
					t.Errorf("weightaudit %s: stderr %q, want one line \"weightaudit: <error>\"", strings.Join(args, " "), msg)
				}
				if !strings.Contains(msg, p) {
					t.Errorf("weightaudit %s: error %q does not name the file %s", strings.Join(args, " "), msg, p)
				}
				if !withoutOffset[e.file] {
					if !offsetRE.MatchString(msg) {
						t.Errorf("weightaudit %s: error %q has no \"offset N\"", strings.Join(args, " "), msg)
					}
					checkFormatError(t, res.err, p)
				}
				for _, w := range e.want {
					if !strings.Contains(msg, w) {
						t.Errorf("weightaudit %s: error %q does not contain %q", strings.Join(args, " "), msg, w)
					}
				}
			}
		})
	}
}

// checkFormatError checks that err wraps the format reader's
// *FormatError, whose offset lies in the file and is the one printed.
func checkFormatError(t *testing.T, err error, file string) {
	t.Helper()
	var (
		off   int64
		field string
	)
	var se *safetensors.FormatError
	var ge *gguf.FormatError
	switch {
	case errors.As(err, &se):
		off, field = se.Offset, se.Field
	case errors.As(err, &ge):
		off, field = ge.Offset, ge.Field
	default:
		t.Errorf("error %v (%T) wraps no *safetensors.FormatError or *gguf.FormatError", err, err)
		return
	}
	info, serr := os.Stat(file)
	if serr != nil {
		t.Fatal(serr)
	}
	if off < 0 || off > info.Size() {
		t.Errorf("FormatError offset %d is outside the %d-byte file %s", off, info.Size(), file)
	}
	if want := fmt.Sprintf("offset %d: %s", off, field); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// TestCorpusComplete checks that EXPECT and the corpus agree: every listed
// file exists, and every file of testdata/bad is listed or lies in a folder
// (a split set) one of whose files is.
func TestCorpusComplete(t *testing.T) {
	listed := map[string]bool{}
	dirs := map[string]bool{}
	for _, e := range readExpect(t) {
		if listed[e.file] {
			t.Errorf("EXPECT lists %s twice", e.file)
		}
		listed[e.file] = true
		if d := path.Dir(e.file); d != "." {
			dirs[d] = true
		}
	}
	root := filepath.Join(testdata, "bad")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		if rel != "EXPECT" && !listed[rel] && !dirs[path.Dir(rel)] {
			t.Errorf("testdata/bad/%s is not in EXPECT", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range listed {
		if !seen[f] {
			t.Errorf("EXPECT lists %s, which does not exist", f)
		}
	}
}

// manifest is testdata/tiny/MANIFEST, written by internal/fixturegen.
type manifest struct {
	Fixtures []struct {
		Name    string `json:"name"`
		Source  string `json:"source"`
		Format  string `json:"format"`
		Tensors int    `json:"tensors"`
		Params  int64  `json:"params"`
		Bytes   int64  `json:"bytes"`
		Files   []struct {
			Name    string `json:"name"`
			Size    int64  `json:"size"`
			SHA256  string `json:"sha256"`
			Weights bool   `json:"weights"`
		} `json:"files"`
	} `json:"fixtures"`
}

// inspectJSON is the part of the `inspect --json` report these tests read.
type inspectJSON struct {
	Format string `json:"format"`
	Files  []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	} `json:"files"`
	Tensors []struct {
		Name   string `json:"name"`
		Params int64  `json:"params"`
		Bytes  int64  `json:"bytes"`
	} `json:"tensors"`
	Totals struct {
		Tensors int   `json:"tensors"`
		Params  int64 `json:"params"`
		Bytes   int64 `json:"bytes"`
	} `json:"totals"`
}

func readManifest(tb testing.TB) manifest {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "tiny", "MANIFEST"))
	if err != nil {
		tb.Fatalf("%v (run go generate ./internal/fixturegen)", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("MANIFEST: %v", err)
	}
	if len(m.Fixtures) == 0 {
		tb.Fatal("MANIFEST lists no fixtures")
	}
	return m
}

// inspectFixture runs `inspect --json` on a tiny fixture and decodes the
// report.
func inspectFixture(tb testing.TB, source string) inspectJSON {
	tb.Helper()
	p := filepath.Join(testdata, "tiny", filepath.FromSlash(source))
	res := runCLI(tb, "inspect", "--json", p)
	if res.code != exitOK || res.stderr != "" {
		tb.Fatalf("weightaudit inspect --json %s: exit code %d, stderr %q; want 0 and nothing", p, res.code, res.stderr)
	}
	var r inspectJSON
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		tb.Fatalf("weightaudit inspect --json %s: %v", p, err)
	}
	return r
}

// TestTinyFixtures inspects every tiny fixture and checks the report
// against MANIFEST, whose counts fixturegen computed from the config, and
// the files against their MANIFEST sizes and sha256.
func TestTinyFixtures(t *testing.T) {
	for _, fx := range readManifest(t).Fixtures {
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			type file struct {
				Name string
				Size int64
			}
			// Report file names are relative to the folder of the source.
			dir := fx.Source
			var want []file
			for _, f := range fx.Files {
				b, err := os.ReadFile(filepath.Join(testdata, "tiny", filepath.FromSlash(f.Name)))
				if err != nil {
					t.Error(err)
					continue
				}
				sum := sha256.Sum256(b)
				if int64(len(b)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
					t.Errorf("%s: %d bytes, sha256 %x; MANIFEST says %d, %s", f.Name, len(b), sum, f.Size, f.SHA256)
				}
				if f.Name == fx.Source {
					dir = path.Dir(f.Name)
				}
				if f.Weights {
					want = append(want, file{Name: f.Name, Size: f.Size})
				}
			}

			r := inspectFixture(t, fx.Source)
			if r.Format != fx.Format {
				t.Errorf("format = %q, want %q", r.Format, fx.Format)
			}
			var got []file
			for _, f := range r.Files {
				got = append(got, file{Name: path.Join(dir, f.Name), Size: f.Size})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("report files differ from MANIFEST (-want +got):\n%s", diff)
			}
			if r.Totals.Tensors != fx.Tensors || r.Totals.Params != fx.Params || r.Totals.Bytes != fx.Bytes {
				t.Errorf("totals = %d tensors, %d params, %d bytes; want %d, %d, %d",
					r.Totals.Tensors, r.Totals.Params, r.Totals.Bytes, fx.Tensors, fx.Params, fx.Bytes)
			}
			var params, nbytes int64
			for _, tn := range r.Tensors {
				params += tn.Params
				nbytes += tn.Bytes
			}
			if len(r.Tensors) != fx.Tensors || params != fx.Params || nbytes != fx.Bytes {
				t.Errorf("tensor list sums to %d tensors, %d params, %d bytes; want %d, %d, %d",
					len(r.Tensors), params, nbytes, fx.Tensors, fx.Params, fx.Bytes)
			}

			text := runCLI(t, "inspect", filepath.Join(testdata, "tiny", filepath.FromSlash(fx.Source)))
			if text.code != exitOK || text.stderr != "" || !strings.Contains(text.stdout, "params") {
				t.Errorf("weightaudit inspect %s: exit code %d, stderr %q, stdout %q; want 0, nothing and a report", fx.Source, text.code, text.stderr, text.stdout)
			}
		})
	}
}

// TestTinyFormatsAgree checks that the Hugging Face and GGUF F32 fixtures of
// the same model report the same parameters and bytes.
func TestTinyFormatsAgree(t *testing.T) {
	sources := map[string]string{}
	for _, fx := range readManifest(t).Fixtures {
		sources[fx.Name] = fx.Source
	}
	hf, gg := sources["hf-f32"], sources["tiny-f32"]
	if hf == "" || gg == "" {
		t.Fatalf("MANIFEST lacks hf-f32 or tiny-f32: %v", sources)
	}
	h, g := inspectFixture(t, hf), inspectFixture(t, gg)
	if h.Totals.Params != g.Totals.Params || h.Totals.Params == 0 {
		t.Errorf("params: %s %d, %s %d; want equal and non-zero", hf, h.Totals.Params, gg, g.Totals.Params)
	}
	if h.Totals.Bytes != g.Totals.Bytes {
		t.Errorf("bytes: %s %d, %s %d; want equal (both F32)", hf, h.Totals.Bytes, gg, g.Totals.Bytes)
	}
}
