package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/verify"
)

// notBlob is the copy error verify --cache reports for a file inside a
// tar layer of a registry source: the blob store holds whole layers.
const notBlob = "inside a tar layer (or a layer without a sha256 digest): the blob store holds whole layers, by sha256, not the files inside them"

// mirrorSource is a source with the hub.Mirror capability, whose Mirror
// returns w or err: --cache must need no more of a source than that.
type mirrorSource struct {
	w   hub.MirrorWriter
	err error
}

func (s *mirrorSource) String() string { return "mirrored" }
func (s *mirrorSource) List(context.Context) ([]hub.FileInfo, error) {
	return nil, nil
}
func (s *mirrorSource) Open(context.Context, string) (hub.File, error) {
	return nil, hub.ErrNotExist
}
func (s *mirrorSource) Mirror(func(string) string) (hub.MirrorWriter, error) {
	return s.w, s.err
}

// tallyWriter is a MirrorWriter that holds "have" already, refuses
// "skip" by design, and records the tally it is given.
type tallyWriter struct {
	tally    hub.MirrorTally
	finished bool
}

func (w *tallyWriter) Create(name string, size int64) (hub.MirrorFile, error) {
	switch name {
	case "have":
		return nil, nil
	case "skip":
		return nil, &hub.NotMirroredError{Reason: "not held here"}
	}
	return nopFile{}, nil
}

func (w *tallyWriter) Finish() error {
	w.finished = true
	return nil
}

func (w *tallyWriter) Summary(t hub.MirrorTally) (string, error) {
	w.tally = t
	if len(t.Failed) > 0 {
		return "summary", errors.New(strings.Join(t.Failed, "; "))
	}
	return "summary", nil
}

type nopFile struct{}

func (nopFile) Write(p []byte) (int, error) { return len(p), nil }
func (nopFile) Commit() error               { return nil }
func (nopFile) Abort()                      {}

// TestVerifyCacheMirror drives --cache through the hub.Mirror capability
// alone: the notes for a source with nothing to store, and the tally of a
// run handed to the writer, with the files it refused by design skipped.
func TestVerifyCacheMirror(t *testing.T) {
	tests := []struct {
		name    string
		src     hub.Source
		stderr  string
		err     string
		noCache bool
	}{
		{"not a mirror", hub.NewMem("mem"), "note: --cache does nothing for mem: its files are local already\n", "", true},
		{"local", &mirrorSource{err: &hub.NotMirroredError{Local: true, Reason: "it is local"}}, "note: --cache does nothing for mirrored: it is local\n", "", true},
		{"nothing to store", &mirrorSource{err: &hub.NotMirroredError{Reason: "no commit: nothing is cached"}}, "note: --cache: no commit: nothing is cached\n", "", true},
		{"failure", &mirrorSource{err: errors.New("no cache folder")}, "", "--cache: no cache folder", true},
		{"writer", &mirrorSource{w: &tallyWriter{}}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := &cobra.Command{}
			cmd.SetErr(&stderr)
			c, err := newVerifyCache(cmd, tt.src)
			if got := errString(err); got != tt.err {
				t.Errorf("newVerifyCache error = %q, want %q", got, tt.err)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.stderr)
			}
			if (c == nil) != tt.noCache {
				t.Fatalf("newVerifyCache = %v, want a cache: %v", c, !tt.noCache)
			}
		})
	}

	w := &tallyWriter{}
	var stderr bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetErr(&stderr)
	c, err := newVerifyCache(cmd, &mirrorSource{w: w})
	if err != nil {
		t.Fatal(err)
	}
	r := &verify.Report{}
	for _, name := range []string{"new", "have", "skip", "bad"} {
		f, err := c.create(name, 1)
		fc := verify.FileCheck{Name: name}
		switch {
		case err != nil:
			fc.Copy, fc.CopyError = verify.CopyNotStored, err.Error()
		case f == nil:
			fc.Copy = verify.CopyPresent
		case name == "bad":
			f.Abort()
			fc.Copy, fc.CopyError = verify.CopyNotStored, "the file was not read to its end"
		default:
			f.Commit()
			fc.Copy = verify.CopyStored
		}
		r.Files = append(r.Files, fc)
	}
	err = c.finish(cmd, r)
	want := hub.MirrorTally{Stored: 1, Present: 1, Skipped: 1, Failed: []string{"bad: the file was not read to its end"}}
	if diff := cmp.Diff(want, w.tally); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
	if !w.finished || stderr.String() != "summary\n" || errString(err) != "--cache: bad: the file was not read to its end" {
		t.Errorf("finish: finished %v, stderr %q, error %v", w.finished, stderr.String(), err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
