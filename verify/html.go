package verify

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// WriteHTML writes the report as one self-contained HTML page (package
// internal/htmlreport): the verdict and root causes, the checks, the
// files, and the per-layer statistics as small multiples (one panel per
// kind of tensor: absmax and std against the layer, with the layers
// holding NaN or Inf values and zero runs marked), then the findings with
// a filter box.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, r.htmlPage())
}

// maxFileRows bounds the files the page lists.
const maxFileRows = 1000

// checkTitles are the checks the page lists, in order, with their titles.
var checkTitles = []struct{ id, title string }{
	{CheckSHA256, "every file's sha256 is the expected digest"},
	{CheckSHA512, "every file's SHA-512 is the published one"},
	{CheckGitBlob, "every file's Git blob id is the published one"},
	{CheckManifest, "the files and tensors are the manifest's"},
	{CheckTensorSHA256, "every tensor's sha256 is the manifest's"},
	{CheckMissingFile, "every shard the index names is present"},
	{CheckTruncated, "every tensor lies inside its file"},
	{CheckUnread, "every file's data was read"},
	{CheckArchive, "every layer read from its start is a valid archive"},
	{CheckNaN, "no NaN values (or scales)"},
	{CheckInf, "no infinite values (or scales)"},
	{CheckAllZero, "no tensor all zero"},
	{CheckZeroRun, "no long zero-filled run inside a tensor"},
	{CheckNoDigest, "every file has a reference digest"},
}

func (r *Report) htmlPage() *htmlreport.Page {
	p := &htmlreport.Page{Title: "weightaudit verify " + r.Source, Verdict: r.Verdict, Headline: r.Headline}
	count := map[string]int{}
	first := map[string]Finding{}
	for _, f := range r.Findings {
		if count[f.Check] == 0 {
			first[f.Check] = f
		}
		count[f.Check]++
	}
	var expected, sha512, gitBlob, manifest bool
	for _, f := range r.Files {
		expected = expected || f.Expected != ""
		sha512 = sha512 || f.ExpectedSHA512 != ""
		gitBlob = gitBlob || f.ExpectedGitBlob != ""
		manifest = manifest || f.ExpectedFrom == "manifest"
	}
	applies := map[string]string{ // why a check does not apply
		CheckSHA256: when(!expected, "no reference digest"), CheckSHA512: when(!sha512, "no published SHA-512"),
		CheckGitBlob: when(!gitBlob, "no published Git blob id"), CheckManifest: when(!manifest, "no manifest"),
		CheckTensorSHA256: when(!manifest, "no manifest"), CheckArchive: when(len(r.Archives) == 0, "no layer read from its start"),
	}
	for _, c := range checkTitles {
		n := count[c.id]
		row := htmlreport.Check{ID: c.id, Title: c.title, Status: "PASS", Level: "data", Detail: "no finding"}
		switch {
		case n > 0:
			row.Status, row.Detail = "FAIL", textfmt.FirstOf(n, "finding", findingLine(first[c.id]))
			if len(p.RootCauses) < htmlreport.MaxRootCauses {
				p.RootCauses = append(p.RootCauses, c.id+": "+findingLine(first[c.id]))
			}
		case c.id == CheckNoDigest:
			continue // listed only when --require-digests found a file without one
		case applies[c.id] != "":
			row.Status, row.Detail = "SKIP", "not applicable: "+applies[c.id]
		}
		p.Checks = append(p.Checks, row)
	}
	t := r.Totals
	p.Facts = []htmlreport.Fact{
		{Key: "files", Label: "files", Value: textfmt.Count(int64(t.Files)), Note: fmt.Sprintf("%d compared with no reference digest", r.Unchecked)},
		{Key: "tensors", Label: "tensors", Value: textfmt.Count(int64(t.Tensors))},
		{Key: "bytes", Label: "bytes", Value: textfmt.Count(t.Bytes), Note: textfmt.Bytes(t.Bytes)},
		{Key: "findings", Label: "findings", Value: textfmt.Count(int64(len(r.Findings)))},
	}
	ft := htmlreport.Table{Key: "files", Title: "Files", Columns: []string{"file", "bytes", "status", "sha256"}, Numeric: []bool{false, true, false, false}}
	for i, f := range r.Files {
		if i == maxFileRows {
			ft.Rows = append(ft.Rows, []string{fmt.Sprintf("…and %d more, in the JSON report", len(r.Files)-maxFileRows), "", "", ""})
			break
		}
		ft.Rows = append(ft.Rows, []string{f.Name, textfmt.Count(f.Size), f.Status, f.SHA256})
	}
	lt := htmlreport.Table{Key: "layers", Title: "Layers with defects", Columns: []string{"layer", "tensors", "NaN", "Inf", "all-zero tensors", "zero runs", "absmax", "findings"},
		Numeric: []bool{true, true, true, true, true, true, true, true}}
	for _, l := range r.Layers {
		if l.NaN+l.Inf == 0 && l.AllZero+l.ZeroRuns+l.Findings == 0 {
			continue
		}
		lt.Rows = append(lt.Rows, []string{strconv.Itoa(l.Layer), strconv.Itoa(l.Tensors), textfmt.Count(l.NaN), textfmt.Count(l.Inf),
			strconv.Itoa(l.AllZero), strconv.Itoa(l.ZeroRuns), strconv.FormatFloat(l.AbsMax, 'g', 5, 64), strconv.Itoa(l.Findings)})
	}
	p.Tables = []htmlreport.Table{ft}
	if len(lt.Rows) > 0 {
		p.Tables = append(p.Tables, lt)
	}
	p.Sections = []htmlreport.Section{r.statCharts()}
	for _, f := range r.Findings {
		p.Findings = append(p.Findings, htmlreport.Finding{Check: f.Check, Tensor: f.Tensor, File: f.File, Message: f.Message})
	}
	return p
}

func when(cond bool, why string) string {
	if cond {
		return why
	}
	return ""
}

// tensorKind names a layer's tensor with its layer index as "N" and any
// later index (an expert's) as "*": model.layers.N.mlp.experts.*.up_proj.weight.
func tensorKind(name string, layer int) string {
	parts := strings.Split(name, ".")
	ls := strconv.Itoa(layer)
	seen := false
	for i, s := range parts {
		if _, err := strconv.Atoi(s); err != nil {
			continue
		}
		if !seen && s == ls {
			parts[i], seen = "N", true
		} else if seen {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, ".")
}

// kindStats is one kind's statistics per layer: the largest absmax and std
// over its tensors (its experts), and the layers whose tensors hold NaN or
// Inf values, or are zero in whole or in runs.
type kindStats struct {
	layers      []int
	seen        map[int]bool
	absmax, std map[int]float64
	bad, zero   map[int]bool
}

// maxPanels bounds the small multiples: the kinds of tensor of a layer.
const maxPanels = 24

// statCharts draws the per-layer statistics as small multiples.
func (r *Report) statCharts() htmlreport.Section {
	s := htmlreport.Section{Title: "Per-layer statistics", Small: true,
		Caption: "One panel per kind of tensor in the decoder layers: the largest absmax (solid) and std (dashed) over its tensors in each layer; × marks a layer whose tensors hold NaN or Inf values, ○ one with an all-zero tensor or a zero run."}
	kinds := map[string]*kindStats{}
	var order []string
	for i := range r.Tensors {
		t := &r.Tensors[i]
		if t.Layer < 0 {
			continue
		}
		k := tensorKind(t.Name, t.Layer)
		ks := kinds[k]
		if ks == nil {
			ks = &kindStats{seen: map[int]bool{}, absmax: map[int]float64{}, std: map[int]float64{}, bad: map[int]bool{}, zero: map[int]bool{}}
			kinds[k] = ks
			order = append(order, k)
		}
		if !ks.seen[t.Layer] {
			ks.seen[t.Layer] = true
			ks.layers = append(ks.layers, t.Layer)
		}
		if st := t.Stats; st != nil {
			ks.absmax[t.Layer] = max(ks.absmax[t.Layer], st.AbsMax)
			ks.std[t.Layer] = max(ks.std[t.Layer], st.Std)
		}
		if t.NaN+t.Inf > 0 {
			ks.bad[t.Layer] = true
		}
		if t.AllZero || len(t.ZeroRuns) > 0 {
			ks.zero[t.Layer] = true
		}
	}
	slices.Sort(order)
	if len(order) == 0 {
		s.Notes = append(s.Notes, "no tensor in the decoder layers")
		return s
	}
	if len(order) > maxPanels {
		s.Notes = append(s.Notes, fmt.Sprintf("%d kinds of tensor; the first %d drawn", len(order), maxPanels))
		order = order[:maxPanels]
	}
	for _, k := range order {
		ks := kinds[k]
		slices.Sort(ks.layers)
		l := htmlreport.Lines{Title: k, XLabel: "layer", YLabel: "value", LogY: true, Width: 270, Height: 190, LegendLeft: true, IntegerX: true,
			XFormat: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }}
		abs, std := htmlreport.Line{Name: "absmax", Color: 0}, htmlreport.Line{Name: "std", Color: 0, Dashed: true}
		bad, zero := htmlreport.Mark{Name: "NaN/Inf", Color: 1, Shape: "cross"}, htmlreport.Mark{Name: "zeros", Color: 5, Shape: "circle"}
		for _, layer := range ks.layers {
			x := float64(layer)
			if v := ks.absmax[layer]; v > 0 && !math.IsInf(v, 0) {
				abs.X, abs.Y = append(abs.X, x), append(abs.Y, v)
			}
			if v := ks.std[layer]; v > 0 && !math.IsInf(v, 0) {
				std.X, std.Y = append(std.X, x), append(std.Y, v)
			}
			if ks.bad[layer] {
				bad.X, bad.Y = append(bad.X, x), append(bad.Y, ks.absmax[layer])
			}
			if ks.zero[layer] {
				zero.X, zero.Y = append(zero.X, x), append(zero.Y, ks.absmax[layer])
			}
		}
		for _, ln := range []htmlreport.Line{abs, std} {
			if len(ln.X) > 0 {
				l.Lines = append(l.Lines, ln)
			}
		}
		for _, m := range []htmlreport.Mark{bad, zero} {
			if len(m.X) > 0 {
				l.Marks = append(l.Marks, m)
			}
		}
		s.AddLines(l)
	}
	return s
}
