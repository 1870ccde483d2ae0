package audit

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/junit"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// InspectReport is what `weightaudit inspect` shows: the files, every tensor,
// the tallies and the metadata. Build it with [NewInspectReport], then render
// it with [InspectReport.WriteJSON] or [InspectReport.WriteText].
type InspectReport struct {
	// SchemaVersion is [InspectSchemaVersion] (schema/inspect.vN.json).
	SchemaVersion int `json:"schema_version"`
	// Pass is true, and Verdict "pass", when the files have no problem;
	// else false and "fail".
	Pass     bool              `json:"pass"`
	Verdict  string            `json:"verdict"`
	Source   string            `json:"source"`
	Format   checkpoint.Format `json:"format"`
	Files    []FileJSON        `json:"files"`
	Tensors  []TensorJSON      `json:"tensors"`
	Layers   []LayerJSON       `json:"layers"`
	DTypes   []DTypeJSON       `json:"dtypes"`
	Totals   TotalsJSON        `json:"totals"`
	Metadata map[string]any    `json:"metadata"`
	Problems []string          `json:"problems"`
	// Fetch is set for a remote source: what reading the headers cost.
	Fetch *FetchJSON `json:"fetch,omitempty"`
	// Started is when the run began and Seconds how long it took, as
	// the caller measured them (zero when it did not).
	Started time.Time `json:"started,omitzero"`
	Seconds float64   `json:"seconds"`

	// ck is what Tensors is filled from when an output needs it (the
	// JSON and the text with every tensor): the summaries need only the
	// tallies, and the inventory and a copy of every tensor are 4.7 and
	// 4 MB for the 235B layouts.
	ck *checkpoint.Checkpoint
}

// InspectSchemaVersion is the version of the JSON Schema of
// [InspectReport] (schema/inspect.vN.json): bumped whenever the report's
// JSON shape changes.
const InspectSchemaVersion = 2

// FileJSON is one file in an inspect report.
type FileJSON struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	HeaderBytes int64  `json:"header_bytes"`
}

// TensorJSON is one tensor in an inspect report. Layer is -1 outside the
// decoder layers.
type TensorJSON struct {
	Name   string  `json:"name"`
	Shape  []int64 `json:"shape"`
	DType  string  `json:"dtype"`
	Params int64   `json:"params"`
	Bytes  int64   `json:"bytes"`
	File   string  `json:"file"`
	Offset int64   `json:"offset"`
	Layer  int     `json:"layer"`
}

// LayerJSON is one layer's tally; layer -1 holds the tensors outside any
// layer.
type LayerJSON struct {
	Layer   int   `json:"layer"`
	Tensors int   `json:"tensors"`
	Params  int64 `json:"params"`
	Bytes   int64 `json:"bytes"`
}

// DTypeJSON is one dtype's tally.
type DTypeJSON struct {
	DType   string `json:"dtype"`
	Tensors int    `json:"tensors"`
	Params  int64  `json:"params"`
	Bytes   int64  `json:"bytes"`
}

// TotalsJSON sums a checkpoint.
type TotalsJSON struct {
	Files       int   `json:"files"`
	Tensors     int   `json:"tensors"`
	Params      int64 `json:"params"`
	Bytes       int64 `json:"bytes"`
	FileBytes   int64 `json:"file_bytes"`
	HeaderBytes int64 `json:"header_bytes"`
}

// NewInspectReport builds the inspect report of ck.
func NewInspectReport(ck *checkpoint.Checkpoint) *InspectReport {
	r := &InspectReport{SchemaVersion: InspectSchemaVersion, Source: ck.Source, Format: ck.Format, Metadata: ck.Metadata(), Problems: []string{}, ck: ck}
	for _, f := range ck.Files {
		r.Files = append(r.Files, FileJSON{Name: f.Name, Size: f.Size, HeaderBytes: f.HeaderBytes})
	}
	tl := ck.Tallies()
	for _, l := range tl.Layers {
		r.Layers = append(r.Layers, LayerJSON(l))
	}
	for _, d := range tl.DTypes {
		r.DTypes = append(r.DTypes, DTypeJSON(d))
	}
	r.Totals = TotalsJSON(tl.Totals)
	for _, m := range ck.Mismatches {
		r.Problems = append(r.Problems, m.String())
	}
	r.Pass = len(r.Problems) == 0
	r.Verdict = VerdictFail
	if r.Pass {
		r.Verdict = VerdictPass
	}
	return r
}

// fillTensors fills r.Tensors from the inventory of the checkpoint
// NewInspectReport kept, unless it is filled already.
func (r *InspectReport) fillTensors() {
	if r.Tensors != nil || r.ck == nil {
		return
	}
	inv := r.ck.Inventory()
	r.Tensors = make([]TensorJSON, len(inv.Tensors))
	for i, t := range inv.Tensors {
		r.Tensors[i] = TensorJSON{Name: t.Name, Shape: t.Shape, DType: t.DType, Params: t.Params, Bytes: t.Bytes, File: t.File, Offset: t.Offset, Layer: t.Layer}
	}
}

// TensorList returns every tensor of the report, in the inventory's
// order; the JSON report's tensors.
func (r *InspectReport) TensorList() []TensorJSON {
	r.fillTensors()
	return r.Tensors
}

// WriteJSON writes the report as indented JSON.
func (r *InspectReport) WriteJSON(w io.Writer) error {
	r.fillTensors()
	return textfmt.WriteJSON(w, r)
}

// WriteText writes the report for people: a summary, per-dtype totals, a
// per-layer table in which runs of identical layers share one row, the
// problems found, and with tensors set every tensor.
func (r *InspectReport) WriteText(w io.Writer, tensors bool) error {
	t := r.Totals
	p := &textfmt.Printer{W: w}
	p.F("source   %s\n", r.Source)
	p.F("format   %s, %d file(s), %s, headers %s\n", r.Format, t.Files, textfmt.Bytes(t.FileBytes), textfmt.Bytes(t.HeaderBytes))
	p.F("tensors  %s\n", textfmt.Count(int64(t.Tensors)))
	p.F("params   %s (%s)\n", textfmt.Count(t.Params), textfmt.Params(t.Params))
	p.F("bytes    %s (%s)\n", textfmt.Count(t.Bytes), textfmt.Bytes(t.Bytes))
	if arch := r.architecture(); arch != "" {
		p.F("arch     %s\n", arch)
	}
	if r.Fetch != nil {
		p.F("remote   %s\n", r.Fetch)
	}
	p.F("\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "dtype\ttensors\tparams\tbytes\t\n")
	for _, d := range r.DTypes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", d.DType, textfmt.Count(int64(d.Tensors)), textfmt.Count(d.Params), textfmt.Count(d.Bytes))
	}
	tw.Flush()
	p.F("\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\ttensors\tparams\tbytes\t\n")
	groups := groupLayers(r.Layers, func(l LayerJSON) int { return l.Layer }, func(a, b LayerJSON) bool {
		return a.Tensors == b.Tensors && a.Params == b.Params && a.Bytes == b.Bytes
	})
	for _, g := range groups {
		l := g.first
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", g.label, textfmt.Count(int64(l.Tensors)), textfmt.Count(l.Params), textfmt.Count(l.Bytes))
	}
	tw.Flush()
	if len(r.Problems) > 0 {
		p.F("\n%d problem(s):\n", len(r.Problems))
		for _, pr := range r.Problems {
			p.F("  %s\n", pr)
		}
	}
	if tensors {
		p.F("\n")
		list := r.TensorList()
		err := textfmt.Columns(w, 2, 1+len(list), func(b []byte, i int) []byte {
			if i == 0 {
				return append(b, "name\tshape\tdtype\tparams\tbytes\tfile\toffset"...)
			}
			t := &list[i-1]
			return fmt.Appendf(b, "%s\t%v\t%s\t%d\t%d\t%s\t%d", t.Name, t.Shape, t.DType, t.Params, t.Bytes, t.File, t.Offset)
		})
		if p.Err == nil {
			p.Err = err
		}
	}
	return p.Err
}

func (r *InspectReport) architecture() string {
	if g, ok := r.Metadata["gguf"].(map[string]any); ok {
		if a, ok := g["general.architecture"].(string); ok {
			return a
		}
	}
	if c, ok := r.Metadata["config"].(map[string]any); ok {
		if a, ok := c["model_type"].(string); ok {
			return a
		}
	}
	return ""
}

// WriteMarkdown writes the report as Markdown for a CI step summary: the
// summary, the per-dtype totals, the per-layer table (identical layers
// share a row) and the problems.
func (r *InspectReport) WriteMarkdown(w io.Writer) error {
	t := r.Totals
	p := &textfmt.Printer{W: w}
	verdict := textfmt.PassIcon(true) + " PASS"
	if len(r.Problems) > 0 {
		verdict = fmt.Sprintf("%s FAIL — %d problem(s)", textfmt.PassIcon(false), len(r.Problems))
	}
	p.F("## weightaudit inspect: %s\n\n", verdict)
	p.F("`%s`: %s, %d file(s), %s, headers %s", r.Source, r.Format, t.Files, textfmt.Bytes(t.FileBytes), textfmt.Bytes(t.HeaderBytes))
	if arch := r.architecture(); arch != "" {
		p.F(", architecture `%s`", arch)
	}
	p.F(".  \n%s tensors, %s params (%s), %s.\n", textfmt.Count(int64(t.Tensors)), textfmt.Count(t.Params), textfmt.Params(t.Params), textfmt.Bytes(t.Bytes))
	if r.Fetch != nil {
		p.F("\nRemote: %s.\n", r.Fetch)
	}
	p.F("\n| dtype | tensors | params | bytes |\n| --- | ---: | ---: | ---: |\n")
	for _, d := range r.DTypes {
		p.F("| %s | %s | %s | %s |\n", d.DType, textfmt.Count(int64(d.Tensors)), textfmt.Count(d.Params), textfmt.Count(d.Bytes))
	}
	p.F("\n<details><summary>Layers</summary>\n\n| layer | tensors | params | bytes |\n| --- | ---: | ---: | ---: |\n")
	groups := groupLayers(r.Layers, func(l LayerJSON) int { return l.Layer }, func(a, b LayerJSON) bool {
		return a.Tensors == b.Tensors && a.Params == b.Params && a.Bytes == b.Bytes
	})
	for _, g := range groups {
		l := g.first
		p.F("| %s | %s | %s | %s |\n", g.label, textfmt.Count(int64(l.Tensors)), textfmt.Count(l.Params), textfmt.Count(l.Bytes))
	}
	p.F("\n</details>\n")
	if len(r.Problems) > 0 {
		p.F("\n### Problems (%d)\n\n", len(r.Problems))
		for _, pr := range r.Problems {
			p.F("- %s\n", textfmt.MDEscape(pr))
		}
	}
	return p.Err
}

// The checks of an inspect report's JUnit cases.
const (
	// InspectHeaders: every file's header was read and is valid (an
	// inspect report exists only then).
	InspectHeaders = "INSPECT-HEADERS"
	// InspectIndex: a safetensors index agrees with its shards.
	InspectIndex = "INSPECT-INDEX"
)

// WriteJUnit writes the report as JUnit XML: a case [InspectHeaders] and,
// for safetensors, a case [InspectIndex] failed with the problems found
// (skipped for GGUF, which has no index); the classname is the source and
// its architecture.
func (r *InspectReport) WriteJUnit(w io.Writer) error {
	verdict := VerdictPass
	if len(r.Problems) > 0 {
		verdict = VerdictFail
	}
	s := junit.Suite{Name: "weightaudit inspect " + r.Source, Started: r.Started, Seconds: r.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: verdict}}}
	class := junit.ClassName(r.Source, r.architecture())
	t := r.Totals
	s.Add(junit.Case{Name: InspectHeaders, ClassName: class,
		SystemOut: fmt.Sprintf("%d file(s), %d tensor(s), %d params, headers %d bytes", t.Files, t.Tensors, t.Params, t.HeaderBytes)})
	idx := junit.Case{Name: InspectIndex, ClassName: class}
	switch {
	case len(r.Problems) > 0:
		idx.Failure = junit.FailureOf("problem", r.Problems)
	case r.Format != checkpoint.FormatSafetensors:
		idx.Skipped = &junit.Skipped{Message: fmt.Sprintf("not applicable: a %s checkpoint has no safetensors index", r.Format)}
	default:
		idx.SystemOut = "the index (if any) and the shards agree"
	}
	s.Add(idx)
	return junit.Write(w, s)
}
