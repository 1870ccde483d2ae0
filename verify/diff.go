package verify

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// DiffReport compares the tensor sets of two checkpoints or manifests, by
// tensor name. Its JSON keys are stable.
type DiffReport struct {
	// SchemaVersion is [DiffSchemaVersion] (schema/diff.vN.json).
	SchemaVersion int `json:"schema_version"`
	// Pass is true only when the verdict is "pass".
	Pass bool `json:"pass"`
	// Verdict is "pass" (every tensor compared and the same), "fail" (a
	// tensor was added, removed, reshaped, retyped or changed) or
	// "incomplete" (nothing differs, but some tensors could not be
	// compared: a side has no digest for them).
	Verdict   string        `json:"verdict"`
	A         string        `json:"a"`
	B         string        `json:"b"`
	Identical bool          `json:"identical"` // no tensor added, removed, reshaped, retyped or changed
	Added     []DiffTensor  `json:"added"`     // in B only, in B's order
	Removed   []DiffTensor  `json:"removed"`   // in A only, in A's order
	Reshaped  []DiffChange  `json:"reshaped"`  // the shape differs (the dtype may too)
	Retyped   []DiffChange  `json:"retyped"`   // the dtype differs (the shape may too)
	Changed   []DiffChange  `json:"changed"`   // same shape and dtype, different bytes
	Unhashed  []DiffTensor  `json:"unhashed"`  // same shape and dtype, but a side has no digest to compare
	Same      int           `json:"same"`      // tensors with the same shape, dtype and bytes
	Files     []DiffFileRef `json:"files_changed"`
	// BytesRead counts the tensor bytes [DiffCheckpoints] read (none when
	// every file's published digest matched).
	BytesRead int64 `json:"bytes_read"`
	// Started is when the run began and Seconds how long it took, as
	// the caller measured them (zero when it did not).
	Started time.Time `json:"started,omitzero"`
	Seconds float64   `json:"seconds"`
}

// DiffSchemaVersion is the version of the JSON Schema of [DiffReport]
// (schema/diff.vN.json): bumped whenever the report's JSON shape changes.
const DiffSchemaVersion = 2

// DiffTensor names one tensor of one side.
type DiffTensor struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// DiffSide is one side of a tensor that differs.
type DiffSide struct {
	File   string  `json:"file"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	SHA256 string  `json:"sha256,omitempty"`
}

// DiffChange is a tensor present on both sides that differs.
type DiffChange struct {
	Name string   `json:"name"`
	A    DiffSide `json:"a"`
	B    DiffSide `json:"b"`
	// FirstDiff is the offset of the first differing byte from the
	// tensor's start, and MaxAbsDelta the largest difference of the
	// values, when the tensors were compared by content
	// ([DiffCheckpoints]); absent when compared by digest.
	FirstDiff   *int64   `json:"first_diff_offset,omitempty"`
	MaxAbsDelta *float64 `json:"max_abs_delta,omitempty"`
}

// DiffFileRef is a file present on both sides, by name, whose digest
// differs; for information (a header change shows here even when every
// tensor is the same).
type DiffFileRef struct {
	Name string `json:"name"`
	A    string `json:"a_sha256"`
	B    string `json:"b_sha256"`
}

// Diff compares the tensors of a and b by name. A tensor named twice on a
// side counts only once, at its first appearance. It never fails; tensors
// lacking a digest on either side are listed as Unhashed and do not make
// the two differ.
func Diff(a, b *Manifest) *DiffReport {
	r := &DiffReport{SchemaVersion: DiffSchemaVersion, A: a.Source, B: b.Source, Added: []DiffTensor{}, Removed: []DiffTensor{},
		Reshaped: []DiffChange{}, Retyped: []DiffChange{}, Changed: []DiffChange{}, Unhashed: []DiffTensor{}, Files: []DiffFileRef{}}
	seen := map[string]bool{}
	for _, ta := range a.Tensors {
		if seen[ta.Name] {
			continue
		}
		seen[ta.Name] = true
		tb, ok := b.tensor(ta.Name)
		if !ok {
			r.Removed = append(r.Removed, DiffTensor{Name: ta.Name, DType: ta.DType, Shape: ta.Shape})
			continue
		}
		c := DiffChange{Name: ta.Name,
			A: DiffSide{File: ta.File, DType: ta.DType, Shape: ta.Shape, SHA256: ta.SHA256},
			B: DiffSide{File: tb.File, DType: tb.DType, Shape: tb.Shape, SHA256: tb.SHA256}}
		reshaped, retyped := !slices.Equal(ta.Shape, tb.Shape), ta.DType != tb.DType
		switch {
		case reshaped || retyped:
			if reshaped {
				r.Reshaped = append(r.Reshaped, c)
			}
			if retyped {
				r.Retyped = append(r.Retyped, c)
			}
		case ta.SHA256 == "" || tb.SHA256 == "":
			r.Unhashed = append(r.Unhashed, DiffTensor{Name: ta.Name, DType: ta.DType, Shape: ta.Shape})
		case ta.SHA256 != tb.SHA256:
			r.Changed = append(r.Changed, c)
		default:
			r.Same++
		}
	}
	added := map[string]bool{}
	for _, tb := range b.Tensors {
		if _, ok := a.tensor(tb.Name); !ok && !added[tb.Name] {
			added[tb.Name] = true
			r.Added = append(r.Added, DiffTensor{Name: tb.Name, DType: tb.DType, Shape: tb.Shape})
		}
	}
	for _, fa := range a.Files {
		if fb, ok := b.file(fa.Name); ok && fb.SHA256 != fa.SHA256 {
			r.Files = append(r.Files, DiffFileRef{Name: fa.Name, A: fa.SHA256, B: fb.SHA256})
		}
	}
	r.judge()
	return r
}

// judge sets Identical, Pass and Verdict from the differences found.
func (r *DiffReport) judge() {
	r.Identical = len(r.Added)+len(r.Removed)+len(r.Reshaped)+len(r.Retyped)+len(r.Changed) == 0
	switch {
	case !r.Identical:
		r.Verdict = "fail"
	case len(r.Unhashed) > 0:
		r.Verdict = "incomplete"
	default:
		r.Verdict = "pass"
	}
	r.Pass = r.Verdict == "pass"
}

// Differences counts the tensors that differ: added, removed, reshaped or
// retyped (each once) and changed.
func (r *DiffReport) Differences() int {
	n := len(r.Added) + len(r.Removed) + len(r.Changed)
	seen := map[string]bool{}
	for _, c := range slices.Concat(r.Reshaped, r.Retyped) {
		if !seen[c.Name] {
			seen[c.Name] = true
			n++
		}
	}
	return n
}

// WriteJSON writes the report as indented JSON.
func (r *DiffReport) WriteJSON(w io.Writer) error {
	return textfmt.WriteJSON(w, r)
}

// headline is the diff's verdict line: identical, or how many tensors
// differ and how.
func (r *DiffReport) headline() string {
	if r.Identical && len(r.Unhashed) > 0 {
		return fmt.Sprintf("identical as far as compared: %d tensor(s) with the same shape, dtype and bytes; %d not compared (no digest)", r.Same, len(r.Unhashed))
	}
	if r.Identical {
		return fmt.Sprintf("identical: %d tensor(s) with the same shape, dtype and bytes", r.Same)
	}
	return fmt.Sprintf("differ: %d tensor(s) — %d added, %d removed, %d reshaped, %d retyped, %d changed; %d the same",
		r.Differences(), len(r.Added), len(r.Removed), len(r.Reshaped), len(r.Retyped), len(r.Changed), r.Same)
}

// WriteText writes the report for people: a summary line, then one line
// per tensor that differs.
func (r *DiffReport) WriteText(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("%s\n", r.headline())
	p.F("  a  %s\n  b  %s\n", r.A, r.B)
	for _, t := range r.Removed {
		p.F("  removed   %s  %s %v\n", t.Name, t.DType, t.Shape)
	}
	for _, t := range r.Added {
		p.F("  added     %s  %s %v\n", t.Name, t.DType, t.Shape)
	}
	for _, c := range r.Reshaped {
		p.F("  reshaped  %s  %v → %v\n", c.Name, c.A.Shape, c.B.Shape)
	}
	for _, c := range r.Retyped {
		p.F("  retyped   %s  %s → %s\n", c.Name, c.A.DType, c.B.DType)
	}
	for _, c := range r.Changed {
		if c.FirstDiff != nil {
			p.F("  changed   %s  first difference at byte %d, max |Δ| %.6g\n", c.Name, *c.FirstDiff, *c.MaxAbsDelta)
			continue
		}
		p.F("  changed   %s  sha256 %s → %s\n", c.Name, short(c.A.SHA256), short(c.B.SHA256))
	}
	if len(r.Unhashed) > 0 {
		names := make([]string, 0, len(r.Unhashed))
		for _, t := range r.Unhashed {
			names = append(names, t.Name)
		}
		p.F("  not compared (no digest): %s\n", strings.Join(names, ", "))
	}
	return p.Err
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12] + "…"
	}
	return d
}
