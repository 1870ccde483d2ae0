package audit

import (
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// Finding is one problem a check found, naming what is at fault.
type Finding struct {
	Check   string `json:"check"`
	Tensor  string `json:"tensor,omitempty"`
	File    string `json:"file,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Check is the outcome of one check.
type Check struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
	// Level says how the check was verified: "structural" (from the
	// files' headers), "arithmetic" (from the model's dimensions), or
	// "empirical" (by running the weights).
	Level     string `json:"level,omitempty"`
	Measured  any    `json:"measured,omitempty"`
	Predicted any    `json:"predicted,omitempty"`
	Findings  int    `json:"findings"`
	// Skipped marks a check that does not apply to the architecture (its
	// spec lacks the capability): it neither passes nor fails.
	Skipped bool `json:"skipped,omitempty"`
}

// The structural checks beyond the seed's contract.
const (
	CheckTensors = "STRUCT-TENSORS" // every expected tensor present, none unexpected, shapes and dtypes right, none twice
	CheckFiles   = "STRUCT-FILES"   // index and shards agree
	CheckConfig  = "STRUCT-CONFIG"  // config.json and GGUF metadata valid (no key twice, no value the model cannot run with) and in agreement
	CheckProfile = "STRUCT-PROFILE" // the config agrees with the published profile and size label
)

// auditRun is what the checks read: everything derived from the
// checkpoint and its spec, computed once before the checks run.
type auditRun struct {
	ck        *checkpoint.Checkpoint
	opts      Options
	spec      arch.Spec
	ob        arch.Obligations
	inv       *checkpoint.Inventory
	roles     []arch.Role
	tl        *roleSums
	pred      arch.Prediction
	tot       checkpoint.Totals
	rec       arch.Recognition
	conflicts []arch.Conflict // config.json and GGUF metadata: problems and disagreements
	explained []arch.Conflict // config fields the tensors contradict (see arch.ShapeExplainer), found by STRUCT-TENSORS
	shapes    arch.Shapes
	costs     costs
	report    *Report // its sections (params, memory, FLOPs, throughput) are filled before the checks
}

// outcome is what one check found: its findings decide it.
type outcome struct {
	findings            []Finding
	detail              string // the detail when there is no finding
	skip                string // set when the check does not apply: why
	measured, predicted any
	level               string // overrides the row's level (a check verified empirically)
}

// checkRow is one row of the check table.
type checkRow struct {
	id    func(ob arch.Obligations) string
	title string
	level string
	run   func(a *auditRun, id string) outcome
	// format marks a check of the files' format alone, which runs for an
	// architecture no family knows; the others are then not checked.
	format bool
}

// fixed is the id of a check every family shares.
func fixed(id string) func(arch.Obligations) string {
	return func(arch.Obligations) string { return id }
}

// checkTable lists the checks in report order: the structural checks every
// family shares (the files first: a broken file is the root cause of what
// the others find), then the seven obligations of the seed's contract under
// the family's ids. A new check is one row.
var checkTable = []checkRow{
	{fixed(CheckFiles), "every file whole, index and shards agree, no tensor in two shards", "structural", checkFileSet, true},
	{fixed(CheckTensors), "every expected tensor present, none unexpected, shapes and dtypes right", "structural", checkTensorSet, false},
	{fixed(CheckConfig), "config.json and GGUF metadata valid and in agreement", "structural", checkConfig, false},
	{fixed(CheckProfile), "config agrees with the published profile and size label", "structural", checkProfile, false},
	{func(o arch.Obligations) string { return o.Total }, "total parameter count", "structural", checkTotal, false},
	{func(o arch.Obligations) string { return o.Active }, "active parameter count", "structural", checkActive, false},
	{func(o arch.Obligations) string { return o.FLOPs }, "FLOPs per token = 2A + attention", "arithmetic", checkFLOPs, false},
	{func(o arch.Obligations) string { return o.Memory }, "quantization memory ordering", "arithmetic", checkMemoryOrder, false},
	{func(o arch.Obligations) string { return o.Roofline }, "roofline throughput, monotone in bandwidth", "arithmetic", checkRoofline, false},
	{func(o arch.Obligations) string { return o.Blocks }, "every block preserves shape", "structural", checkBlocks, false},
	{func(o arch.Obligations) string { return o.EndToEnd }, "tokens → [seq, d] → … → [seq, V]", "structural", checkEndToEnd, false},
}

// runChecks runs every row of the check table into the report.
func (a *auditRun) runChecks() {
	r := a.report
	for _, row := range checkTable {
		id := row.id(a.ob)
		var o outcome
		if u, ok := a.spec.(arch.Unchecked); ok && !row.format {
			o.skip = "the architecture was not checked: " + u.Unchecked()
		} else {
			o = row.run(a, id)
		}
		c := Check{ID: id, Title: row.title, Level: row.level, Measured: o.measured, Predicted: o.predicted}
		if o.level != "" {
			c.Level = o.level
		}
		if o.skip != "" {
			c.Skipped, c.Detail = true, "not applicable: "+o.skip
			r.Checks = append(r.Checks, c)
			continue
		}
		c.Pass = len(o.findings) == 0
		c.Findings = len(o.findings)
		c.Detail = describe(o.findings, o.detail)
		r.Checks = append(r.Checks, c)
		r.Findings = append(r.Findings, o.findings...)
	}
}

func checkTensorSet(a *auditRun, id string) outcome {
	fs := checkTensors(a.ck, a.spec, a.inv, a.roles)
	if ex, ok := a.spec.(arch.ShapeExplainer); ok && len(fs) > 0 {
		// The root cause first: a config field the tensors all contradict
		// is one finding here (and its key's finding in STRUCT-CONFIG),
		// not one per tensor.
		if a.explained = ex.ExplainShapes(a.inv); len(a.explained) > 0 {
			var keys []string
			for _, c := range a.explained {
				keys = append(keys, c.Field)
			}
			first := fs[0]
			fs = []Finding{{Check: id, Tensor: first.Tensor, File: first.File, Message: fmt.Sprintf(
				"%d tensor finding(s) because the config's %s is wrong, not the tensors (see %s); the first: %s",
				len(fs), strings.Join(keys, " and "), CheckConfig, first.Message)}}
		}
	}
	return outcome{findings: fs,
		detail: fmt.Sprintf("%s tensors as %s predicts", textfmt.Count(int64(len(a.inv.Tensors))), a.spec.Family())}
}

func checkFileSet(a *auditRun, id string) outcome {
	return outcome{findings: checkFiles(a.ck), detail: filesDetail(a.ck)}
}

// checkConfig reports what [arch.FromCheckpoint] found of the
// configuration, each finding naming its file and key: keys config.json
// gives twice, values of config.json or of the GGUF metadata the model
// cannot run with, and disagreements between the two. It does not apply
// only when it has nothing to report and there was nothing to compare (no
// GGUF metadata beside config.json, or no config.json beside the GGUF
// file); its detail then says what was checked.
func checkConfig(a *auditRun, id string) outcome {
	var fs []Finding
	for _, c := range append(a.explained, a.conflicts...) {
		fs = append(fs, Finding{Check: id, File: c.File, Field: c.Field, Message: c.Message})
	}
	_, values := a.spec.(arch.ConfigChecker)
	switch {
	case len(fs) > 0:
		return outcome{findings: fs}
	case a.ck.Format == checkpoint.FormatGGUF && a.ck.Config != nil:
		return outcome{detail: "config.json agrees with the GGUF metadata"}
	case a.ck.Format != checkpoint.FormatGGUF:
		checked := "no key in it twice"
		if values {
			checked += ", no value the model cannot run with"
		}
		return outcome{skip: "the architecture comes from config.json alone (" + checked + ")"}
	case values:
		return outcome{skip: "no config.json beside the GGUF file: the architecture comes from its metadata (no value in it the model cannot run with)"}
	}
	return outcome{skip: "no config.json beside the GGUF file: the architecture comes from its metadata"}
}

func checkProfile(a *auditRun, id string) outcome {
	var fs []Finding
	for _, c := range a.rec.Conflicts {
		fs = append(fs, Finding{Check: id, Field: c.Field, Message: c.Message})
	}
	detail := "no published profile applied: checked for exact agreement with the model's own config"
	if p := a.rec.Profile; p != nil {
		detail = "matches " + p.Name
		if a.rec.Label != "" {
			detail += fmt.Sprintf(" (label %s in %q)", a.rec.Label, a.rec.LabelWhere)
		}
	}
	return outcome{findings: fs, detail: detail}
}

// checkTotal is obligation 1 (FALSIFY-QM3E-001): the tallied total equals
// the predicted one exactly, and falls in the profile's range when one
// applies.
func checkTotal(a *auditRun, id string) outcome {
	var rng *[2]int64
	if a.rec.Profile != nil {
		rng = &a.rec.Profile.Total
	}
	return a.count(id, a.tl.params, a.pred.Total, rng, "total")
}

// checkActive is obligation 2 (FALSIFY-QM3E-002), for the active count: a
// routed expert's parameters count k/E.
func checkActive(a *auditRun, id string) outcome {
	var rng *[2]int64
	if a.rec.Profile != nil {
		rng = &a.rec.Profile.Active
	}
	return a.count(id, a.tl.active, a.pred.Active, rng, "active")
}

func (a *auditRun) count(id string, got, want int64, rng *[2]int64, what string) outcome {
	var fs []Finding
	if got != want {
		fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("the files hold %s %s parameters, the config predicts %s (%+d)", textfmt.Count(got), what, textfmt.Count(want), got-want)})
	}
	detail := fmt.Sprintf("%s (%s) tallied = predicted", textfmt.Count(got), textfmt.Params(got))
	if rng != nil {
		name := a.rec.Profile.Name
		if want < rng[0] || want > rng[1] {
			fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("%s %s parameters outside [%s, %s] for %s", textfmt.Params(want), what, textfmt.Params(rng[0]), textfmt.Params(rng[1]), name)})
		}
		detail += fmt.Sprintf(", in [%s, %s] for %s", textfmt.Params(rng[0]), textfmt.Params(rng[1]), name)
	}
	return outcome{findings: fs, detail: detail, measured: got, predicted: want}
}
