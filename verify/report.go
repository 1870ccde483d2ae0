package verify

import (
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/safetensors"
)

// expected returns the digest and size (-1 unknown) a file must have, and
// where the digest comes from.
func (v *verifier) expected(name string) (string, int64, string) {
	if d, ok := v.opts.Expected[name]; ok {
		from := v.opts.ExpectedFrom
		if from == "" {
			from = "expected digest"
		}
		return strings.ToLower(d), -1, from
	}
	if m := v.opts.Manifest; m != nil {
		if f, ok := m.file(name); ok {
			return f.SHA256, f.Size, "manifest"
		}
	}
	return "", -1, ""
}

// report builds the report from the files' and tensors' states.
func (v *verifier) report() *Report {
	r := &Report{SchemaVersion: SchemaVersion, Source: v.ck.Source, Format: v.ck.Format, Shard: v.shard, Files: []FileCheck{}, Tensors: []TensorCheck{}, Findings: []Finding{}}
	for i := range v.files {
		fs := &v.files[i]
		fc := FileCheck{Name: fs.name, Size: fs.size, Read: fs.read.Load(), Status: "unchecked",
			Note: v.opts.Notes[fs.name], Copy: fs.copyStatus, CopyError: fs.copyErr}
		if fs.layer != nil && fc.Note == "" {
			fc.Note = fs.layer.note()
		}
		want, wantSize, from := v.expected(fs.name)
		fc.Expected, fc.ExpectedFrom = want, from
		switch {
		case fs.unread != "":
			fc.Status = "unread"
			n := 0
			for _, sp := range fs.spans {
				if !sp.done {
					n++
				}
			}
			msg := fmt.Sprintf("not verified: %s; no sha256", fs.unread)
			if want != "" {
				msg += fmt.Sprintf(" to compare with the %s %s", from, want)
			}
			if n > 0 {
				msg += fmt.Sprintf(", and no data checks (NaN/Inf, zero runs, statistics) of %d of its %d tensor(s)", n, len(fs.spans))
			}
			r.Findings = append(r.Findings, Finding{Check: CheckUnread, File: fs.name, Offset: fc.Read, Expected: want, Message: msg})
		case fs.sum == nil:
			fc.Status = "incomplete"
		default:
			fc.SHA256 = hex.EncodeToString(fs.sum)
			if want != "" {
				fc.Status = "ok"
				if want != fc.SHA256 {
					fc.Status = "mismatch"
					msg := fmt.Sprintf("sha256 %s, expected %s", fc.SHA256, want)
					if wantSize >= 0 && wantSize != fs.size {
						msg += fmt.Sprintf(" (size %d, expected %d)", fs.size, wantSize)
					}
					r.Findings = append(r.Findings, Finding{Check: CheckSHA256, File: fs.name, Expected: want, Actual: fc.SHA256, Message: msg})
				}
			} else if gw := strings.ToLower(v.opts.ExpectedGitBlob[fs.name]); gw != "" && fs.gitSum != nil {
				fc.GitBlob, fc.ExpectedGitBlob, fc.ExpectedFrom = hex.EncodeToString(fs.gitSum), gw, "Hub Git blob id"
				fc.Status = "ok"
				if fc.GitBlob != gw {
					fc.Status = "mismatch"
					r.Findings = append(r.Findings, Finding{Check: CheckGitBlob, File: fs.name, Expected: gw, Actual: fc.GitBlob,
						Message: fmt.Sprintf("Git blob id %s, the Hub lists %s", fc.GitBlob, gw)})
				}
			} else if w512 := strings.ToLower(v.opts.ExpectedSHA512[fs.name]); w512 != "" && fs.sha512 != nil {
				got := hex.EncodeToString(fs.sha512)
				fc.SHA512, fc.ExpectedSHA512, fc.ExpectedFrom, fc.Status = got, w512, v.opts.ExpectedFrom, "ok"
				if got != w512 {
					fc.Status = "mismatch"
					r.Findings = append(r.Findings, Finding{Check: CheckSHA512, File: fs.name, Expected: w512, Actual: got,
						Message: fmt.Sprintf("sha512 %s, expected %s", got, w512)})
				}
			} else if fs.layer != nil && fs.layer.mismatch() {
				fc.Status = "mismatch" // no digest of its own: its layer's
			} else if fs.layer != nil && fs.layer.verified() {
				fc.Status, fc.ExpectedFrom = "ok", "its layer's digest" // the layer's sha256 covers the file's bytes
			}
		}
		if fc.Status == "unchecked" {
			r.Unchecked++
			if v.opts.RequireDigests {
				r.Findings = append(r.Findings, Finding{Check: CheckNoDigest, File: fs.name, Actual: fc.SHA256,
					Message: "no reference digest to compare with (--require-digests): give --manifest FILE recorded from a trusted copy, or verify a Hub or registry SOURCE"})
			}
		}
		r.Files = append(r.Files, fc)
		r.Totals.Bytes += fs.size
		r.Totals.BytesRead += fc.Read
	}
	if v.shard == nil || v.shard.Index == 1 { // one part of a sharded run reports them
		r.Findings = append(r.Findings, v.absentShards()...)
	}
	for _, l := range v.layers {
		ac, fs := l.check()
		r.Archives = append(r.Archives, ac)
		r.Findings = append(r.Findings, fs...)
	}
	if m := v.opts.Manifest; m != nil {
		for _, mf := range m.Files {
			if !v.all[mf.Name] {
				r.Findings = append(r.Findings, Finding{Check: CheckManifest, File: mf.Name, Expected: mf.SHA256,
					Message: fmt.Sprintf("file in the manifest (%d bytes) is not part of the checkpoint", mf.Size)})
			}
		}
	}
	done := map[int]bool{}
	for i := range v.files {
		for _, sp := range v.files[i].spans {
			if sp.done {
				done[sp.tensor] = true
			}
		}
	}
	for i := range v.inv.Tensors {
		t := &v.inv.Tensors[i]
		if _, ok := v.byFile[t.File]; !ok && v.shard != nil {
			continue // another shard's
		}
		tc, fs := v.tensorCheck(i, t, done[i])
		r.Tensors = append(r.Tensors, tc)
		r.Findings = append(r.Findings, fs...)
		r.Totals.TensorBytes += t.Bytes
		r.Totals.NaN += tc.NaN
		r.Totals.Inf += tc.Inf
	}
	if m := v.opts.Manifest; v.manifestDigests {
		have := make(map[string]bool, len(v.inv.Tensors))
		for i := range v.inv.Tensors {
			have[v.inv.Tensors[i].Name] = true
		}
		for _, mt := range m.Tensors {
			if !have[mt.Name] {
				r.Findings = append(r.Findings, Finding{Check: CheckManifest, File: mt.File, Tensor: mt.Name, Expected: mt.SHA256,
					Message: fmt.Sprintf("tensor in the manifest (%s %v) is not in the checkpoint", mt.DType, mt.Shape)})
			}
		}
	}
	r.Totals.Files, r.Totals.Tensors = len(r.Files), len(r.Tensors)
	r.Layers = verifyLayers(r)
	r.Pass = len(r.Findings) == 0
	r.decide()
	return r
}

// decide sets the verdict and the headline.
func (r *Report) decide() {
	switch {
	case r.Incomplete:
		r.Verdict = "incomplete"
		r.Headline = fmt.Sprintf("INCOMPLETE  verify %s — stopped before every byte was read: %d finding(s) so far", r.Source, len(r.Findings))
	case !r.Pass:
		r.Verdict = "fail"
		f := r.Findings[0]
		where := f.File
		if f.Tensor != "" {
			where += " " + f.Tensor
		}
		r.Headline = fmt.Sprintf("FAIL  verify %s — %d finding(s); first: %s %s: %s", r.Source, len(r.Findings), f.Check, where, f.Message)
	case r.Unchecked == len(r.Files):
		r.Verdict = "pass"
		r.Headline = fmt.Sprintf("PASS  verify %s — data checks only: the integrity of its %d file(s) was compared with nothing (no reference digest); give --manifest FILE recorded from a trusted copy, or verify a Hub or registry SOURCE (--require-digests makes this a failure)", r.Source, len(r.Files))
	case r.Unchecked > 0:
		r.Verdict = "pass"
		r.Headline = fmt.Sprintf("PASS  verify %s — %d of %d file(s) match their reference digest; %d had none to compare with (data checks only)", r.Source, len(r.Files)-r.Unchecked, len(r.Files), r.Unchecked)
	default:
		r.Verdict = "pass"
		r.Headline = fmt.Sprintf("PASS  verify %s — every file matches its reference digest, and the data checks are clean", r.Source)
	}
}

// absentShards reports each shard the safetensors index names that the
// source does not hold, with the tensors lost with it: the download is not
// complete.
func (v *verifier) absentShards() []Finding {
	var out []Finding
	for _, m := range v.ck.Mismatches {
		if m.Kind != safetensors.MissingShard {
			continue
		}
		var lost []string
		for t, shard := range v.ck.Index.All() {
			if shard == m.Shard {
				lost = append(lost, t)
			}
		}
		slices.Sort(lost)
		msg := fmt.Sprintf("named by %s but absent: the download is not complete; %d tensor(s) missing because of it", v.ck.IndexName, len(lost))
		if len(lost) > 0 {
			msg += ", the first " + lost[0]
		}
		out = append(out, Finding{Check: CheckMissingFile, File: m.Shard, Message: msg})
	}
	return out
}

// tensorCheck gives one tensor's result and findings.
func (v *verifier) tensorCheck(i int, t *checkpoint.Tensor, done bool) (TensorCheck, []Finding) {
	tc := TensorCheck{Name: t.Name, File: t.File, DType: t.DType, Shape: t.Shape, Offset: t.Offset, Bytes: t.Bytes, Layer: t.Layer}
	s := v.scans[i]
	if s == nil {
		tc.Incomplete = true
		return tc, nil
	}
	tc.Checked = s.vc.covers()
	var out []Finding
	add := func(check string, off, length, count int64, msg string) {
		out = append(out, Finding{Check: check, File: t.File, Tensor: t.Name, Offset: off, Length: length, Count: count, Message: msg})
	}
	if !done {
		tc.Incomplete = true
		if size := v.fileSize(t.File); size >= 0 && t.Offset+t.Bytes > size {
			tc.Missing = min(t.Bytes, t.Offset+t.Bytes-size)
			add(CheckTruncated, max(t.Offset, size), tc.Missing, 0,
				fmt.Sprintf("%d of its %d bytes are past the end of the file (%d bytes)", tc.Missing, t.Bytes, size))
		}
		return tc, out
	}
	tc.NaN, tc.Inf = s.nan, s.inf
	what := "values"
	if tc.Checked == "scales" {
		what = "block scales"
	}
	if s.nan > 0 {
		add(CheckNaN, t.Offset+s.firstNaN, 0, s.nan, fmt.Sprintf("%d NaN %s, the first at offset %d", s.nan, what, t.Offset+s.firstNaN))
	}
	if s.inf > 0 {
		add(CheckInf, t.Offset+s.firstInf, 0, s.inf, fmt.Sprintf("%d infinite %s, the first at offset %d", s.inf, what, t.Offset+s.firstInf))
	}
	if t.Bytes > 0 && !s.zeros.nonzero {
		tc.AllZero = true
		add(CheckAllZero, t.Offset, t.Bytes, 0, fmt.Sprintf("all %d bytes are zero", t.Bytes))
	}
	for _, z := range s.zeros.runs {
		zr := ZeroRun{Offset: t.Offset + z.Offset, Length: z.Length}
		tc.ZeroRuns = append(tc.ZeroRuns, zr)
		add(CheckZeroRun, zr.Offset, zr.Length, 0, fmt.Sprintf("%d zero bytes (%s) at offset %d, %d bytes into the tensor", zr.Length, textfmt.Bytes(zr.Length), zr.Offset, z.Offset))
	}
	if s.decodeErr == nil {
		tc.Stats = s.acc.stats(!s.sampleAll)
	}
	if s.sum != nil {
		tc.SHA256 = hex.EncodeToString(s.sum)
		if m := v.opts.Manifest; m != nil {
			switch mt, ok := m.tensor(t.Name); {
			case ok && mt.SHA256 != "" && mt.SHA256 != tc.SHA256:
				out = append(out, Finding{Check: CheckTensorSHA256, File: t.File, Tensor: t.Name, Offset: t.Offset,
					Expected: mt.SHA256, Actual: tc.SHA256, Message: fmt.Sprintf("sha256 of its %d bytes %s, expected %s", t.Bytes, tc.SHA256, mt.SHA256)})
			case !ok && v.manifestDigests:
				add(CheckManifest, t.Offset, 0, 0, "tensor is not in the manifest")
			}
		}
	}
	return tc, out
}

func (v *verifier) fileSize(name string) int64 {
	if i, ok := v.byFile[name]; ok {
		return v.files[i].size
	}
	return -1
}

// verifyLayers sums the tensor results per layer.
func verifyLayers(r *Report) []LayerCheck {
	m := map[int]*LayerCheck{}
	for i := range r.Tensors {
		t := &r.Tensors[i]
		lc := m[t.Layer]
		if lc == nil {
			lc = &LayerCheck{Layer: t.Layer}
			m[t.Layer] = lc
		}
		lc.Tensors++
		lc.Bytes += t.Bytes
		lc.NaN += t.NaN
		lc.Inf += t.Inf
		if t.AllZero {
			lc.AllZero++
		}
		lc.ZeroRuns += len(t.ZeroRuns)
		if t.Stats != nil {
			lc.AbsMax = max(lc.AbsMax, t.Stats.AbsMax)
		}
	}
	layerOf := map[string]int{}
	for i := range r.Tensors {
		layerOf[r.Tensors[i].Name] = r.Tensors[i].Layer
	}
	for _, f := range r.Findings {
		if l, ok := layerOf[f.Tensor]; ok && f.Tensor != "" {
			m[l].Findings++
		}
	}
	out := make([]LayerCheck, 0, len(m))
	for _, lc := range m {
		out = append(out, *lc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layer < out[j].Layer })
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	return textfmt.WriteJSON(w, r)
}

// WriteText writes the report for people: the verdict, the files and their
// digests, the findings (at most 40) and a per-layer summary.
func (r *Report) WriteText(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	rate := 0.0
	if r.Seconds > 0 {
		rate = float64(r.Totals.BytesRead) / r.Seconds / 1e6
	}
	p.F("%s\n", r.Headline)
	p.F("  %s, %d file(s), %d tensor(s); read %s of %s in %.2f s (%.0f MB/s)\n",
		r.Format, r.Totals.Files, r.Totals.Tensors, textfmt.Bytes(r.Totals.BytesRead), textfmt.Bytes(r.Totals.Bytes), r.Seconds, rate)
	if sh := r.Shard; sh != nil {
		p.F("  shard %d/%d: %d of the checkpoint's %d file(s)\n", sh.Index, sh.Count, len(r.Files), len(sh.Files))
	}
	p.F("\nfiles\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Files {
		sum := f.SHA256
		if sum == "" {
			sum = fmt.Sprintf("(read %s of %s)", textfmt.Bytes(f.Read), textfmt.Bytes(f.Size))
		}
		status := f.Status
		if f.ExpectedFrom != "" && (f.Status == "ok" || f.Status == "mismatch") {
			status += " (" + f.ExpectedFrom + ")"
		}
		switch f.Copy {
		case "":
		case CopyNotStored:
			status += "; " + f.Copy + ": " + f.CopyError
		default:
			status += "; " + f.Copy
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, textfmt.Bytes(f.Size), sum, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Files {
		if f.Note != "" {
			p.F("  note: %s: %s\n", f.Name, f.Note)
		}
	}
	if len(r.Archives) > 0 {
		p.F("\narchives (layers read from their start)\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, a := range r.Archives {
			sum := a.SHA256
			if sum == "" {
				sum = "(not read to its end)"
			}
			fmt.Fprintf(tw, "  %s\t%d file(s)\t%s\t%s\n", a.Digest, len(a.Files), sum, a.Status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Findings) > 0 {
		p.F("\nfindings (%d)\n", len(r.Findings))
		for i, f := range r.Findings {
			if i == textfmt.MaxTextFindings {
				p.F("  … and %d more (see --json)\n", len(r.Findings)-i)
				break
			}
			where := f.File
			switch {
			case f.Tensor != "":
				where = fmt.Sprintf("tensor %s (%s)", f.Tensor, f.File)
			case f.Layer != "" && f.File != "":
				where = fmt.Sprintf("layer %s (%s)", f.Layer, f.File)
			case f.Layer != "":
				where = "layer " + f.Layer
			}
			p.F("  %-20s %s: %s\n", f.Check, where, f.Message)
		}
	}
	if len(r.Layers) > 0 {
		p.F("\nlayers\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "layer\ttensors\tbytes\tNaN\tInf\tall-zero\tzero runs\tabsmax\tfindings\t\n")
		for _, l := range r.Layers {
			name := fmt.Sprint(l.Layer)
			if l.Layer < 0 {
				name = "other"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%.4g\t%d\t\n", name, l.Tensors, textfmt.Bytes(l.Bytes), l.NaN, l.Inf, l.AllZero, l.ZeroRuns, l.AbsMax, l.Findings)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return p.Err
}
