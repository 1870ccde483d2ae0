package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	_ "github.com/weightaudit/weightaudit/arch/all" // every family, registered
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// Report is the outcome of an audit, built by [Run] and rendered by its
// Write methods.
type Report struct {
	Source   string            `json:"source"`
	Format   checkpoint.Format `json:"format"`
	Model    ModelJSON         `json:"model"`
	Params   ParamsJSON        `json:"params"`
	Checks   []Check           `json:"checks"`
	Findings []Finding         `json:"findings"`
	Coverage CoverageJSON      `json:"coverage"`
	Gate     GateJSON          `json:"gate"`
	Layers   []LayerAudit      `json:"layers"`
	Memory   MemoryJSON        `json:"memory"`
	FLOPs    FLOPsJSON         `json:"flops"`
	// Throughput lists the roofline estimates, per hardware and traffic
	// model.
	Throughput []ThroughputJSON `json:"throughput"`
	Files      FilesJSON        `json:"files"`
	// Fetch is set for a remote source: what reading the headers cost.
	Fetch *FetchJSON `json:"fetch,omitempty"`

	ob arch.Obligations // the family's obligation ids
}

// ModelJSON says what the audit took the checkpoint to be.
type ModelJSON struct {
	Family  string `json:"family"`
	Profile string `json:"profile,omitempty"` // the published model recognized, if any
	Label   string `json:"label,omitempty"`   // the size label found in a name
	Config  any    `json:"config"`            // the family's config, as config.json gives it
}

// ParamsJSON compares the tallied parameter counts with the predicted ones.
type ParamsJSON struct {
	Total           int64 `json:"total"`
	Active          int64 `json:"active"`
	PredictedTotal  int64 `json:"predicted_total"`
	PredictedActive int64 `json:"predicted_active"`
	// Groups break both counts down into embedding, lm_head, attention
	// (q, k, v, o and the q/k norms), router, experts, mlp (dense layers),
	// norms (the layer norms and the final norm) and other (tensors the
	// architecture does not predict).
	Groups []GroupJSON `json:"groups"`
	// Components is the prediction per component.
	Components map[arch.Component]int64 `json:"components"`
}

// GroupJSON is one group of components, tallied from the files and
// predicted.
type GroupJSON struct {
	Group     string `json:"group"`
	Params    int64  `json:"params"`
	Predicted int64  `json:"predicted"`
}

// groups tallies the files and the prediction per group.
func groups(tl *roleSums, pred arch.Prediction) []GroupJSON {
	var want [arch.NumGroups]int64
	for c, n := range pred.Components {
		want[c.Group()] += n
	}
	var out []GroupJSON
	for g := range arch.NumGroups {
		if tl.groups[g] != 0 || want[g] != 0 {
			out = append(out, GroupJSON{Group: arch.Group(g).String(), Params: tl.groups[g], Predicted: want[g]})
		}
	}
	return out
}

// CoverageJSON is the seed's verification ladder: verified obligations over
// all of them.
type CoverageJSON struct {
	Verified int `json:"verified"`
	Total    int `json:"total"`
}

// GateJSON is the QA gate's verdict.
type GateJSON struct {
	ID   string `json:"id"`
	Pass bool   `json:"pass"`
}

// LayerAudit is one layer's tally against the prediction; layer -1 holds
// the tensors outside any layer.
type LayerAudit struct {
	Layer           int   `json:"layer"`
	Tensors         int   `json:"tensors"`
	Params          int64 `json:"params"`
	Active          int64 `json:"active"`
	Bytes           int64 `json:"bytes"`
	PredictedParams int64 `json:"predicted_params"`
	Findings        int   `json:"findings"`
	// Groups breaks the layer's parameters down as ParamsJSON.Groups does.
	Groups map[string]int64 `json:"groups"`
}

// FilesJSON sums the files read.
type FilesJSON struct {
	Count       int   `json:"count"`
	Bytes       int64 `json:"bytes"`
	HeaderBytes int64 `json:"header_bytes"`
}

// Options sets what the cost model assumes and what was run.
type Options struct {
	// Spot holds spot-check results to verify obligations 6 and 7
	// empirically: a one-layer result for FALSIFY-QM3E-006, a full-model
	// result for -007. Without them both are verified structurally only.
	Spot []*spotcheck.Result

	Ctx      int64    // context length for the KV cache, attention FLOPs and roofline; default 4096
	Batch    int64    // sequences decoded together; default 1
	KVType   string   // KV cache element type reported first; default "f16"
	Hardware []string // hardware preset names; default all presets
	// Bandwidth (bytes/s) and Compute (FLOP/s) add a custom machine when
	// both are positive.
	Bandwidth, Compute float64
}

func (o *Options) setDefaults() {
	if o.Ctx == 0 {
		o.Ctx = 4096
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.KVType == "" {
		o.KVType = "f16"
	}
}

// Run audits ck: it derives the architecture, recognizes the published
// profile, checks the tensor set and the files, tallies the parameters
// against the prediction, runs the seed's seven falsification tests and
// its QA gate, and estimates memory, FLOPs and throughput.
func Run(ck *checkpoint.Checkpoint, opts Options) (*Report, error) {
	opts.setDefaults()
	if opts.Ctx < 1 || opts.Batch < 1 {
		return nil, fmt.Errorf("ctx and batch must be positive (got %d, %d)", opts.Ctx, opts.Batch)
	}
	for _, n := range opts.Hardware {
		if _, ok := cost.LookupHardware(n); !ok {
			return nil, fmt.Errorf("unknown hardware %q (presets: %s)", n, presetNames())
		}
	}
	if (opts.Bandwidth > 0) != (opts.Compute > 0) || opts.Bandwidth < 0 || opts.Compute < 0 {
		return nil, fmt.Errorf("give both a positive bandwidth and a positive compute (got %g B/s, %g FLOP/s)", opts.Bandwidth, opts.Compute)
	}
	if _, err := cost.ParseKVType(opts.KVType); err != nil {
		return nil, fmt.Errorf("kv type %q: %w (have %s)", opts.KVType, err, strings.Join(cost.KVTypes(), ", "))
	}
	spec, conflicts, err := arch.FromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	var configFindings []Finding
	for _, c := range conflicts {
		configFindings = append(configFindings, Finding{Check: CheckConfig, File: "config.json", Field: c.Field, Message: c.Message})
	}
	inv := ck.Inventory()
	roles := arch.Assign(spec, inv)
	tl := tallyRoles(inv, roles, spec.Dims())
	pred := spec.Predict()
	tot := inv.Totals()
	r := &Report{Source: ck.Source, Format: ck.Format, Model: ModelJSON{Family: spec.Family(), Config: spec.Config()},
		Files: FilesJSON{Count: tot.Files, Bytes: tot.FileBytes, HeaderBytes: tot.HeaderBytes}, ob: arch.ObligationsOf(spec)}

	var rec arch.Recognition
	if rz, ok := spec.(arch.Recognizer); ok {
		rec = rz.Recognize(sourceNames(ck)...)
	}
	if rec.Profile != nil {
		r.Model.Profile = rec.Profile.Name
	}
	r.Model.Label = rec.Label

	// Tallies: every tensor counts in the total; a routed expert's
	// parameters count k/E in the active total.
	active := tl.active
	r.Params = ParamsJSON{Total: tot.Params, Active: active, PredictedTotal: pred.Total, PredictedActive: pred.Active,
		Groups: groups(tl, pred), Components: pred.Components}

	// Structural checks.
	tensorFindings := checkTensors(spec, inv, roles)
	fileFindings := checkFiles(ck)
	var profileFindings []Finding
	for _, c := range rec.Conflicts {
		profileFindings = append(profileFindings, Finding{Check: CheckProfile, Field: c.Field, Message: c.Message})
	}
	r.addCheck(Check{ID: CheckTensors, Title: "every expected tensor present, none unexpected, shapes and dtypes right", Level: "structural"},
		tensorFindings, fmt.Sprintf("%s tensors as %s predicts", textfmt.Count(int64(len(inv.Tensors))), spec.Family()))
	r.addCheck(Check{ID: CheckFiles, Title: "index and shards agree, no tensor in two shards", Level: "structural"},
		fileFindings, filesDetail(ck))
	r.addCheck(Check{ID: CheckConfig, Title: "config.json and GGUF metadata agree", Level: "structural"},
		configFindings, configDetail(ck))
	profileOK := "no published profile applied: checked for exact agreement with the model's own config"
	if rec.Profile != nil {
		profileOK = "matches " + rec.Profile.Name
		if rec.Label != "" {
			profileOK += fmt.Sprintf(" (label %s in %q)", rec.Label, rec.LabelWhere)
		}
	}
	r.addCheck(Check{ID: CheckProfile, Title: "config agrees with the published profile and size label", Level: "structural"},
		profileFindings, profileOK)

	// The contract.
	r.checkCounts(rec.Profile, pred, active, tot.Params)
	shapes := arch.WalkShapes(spec, inv, roles)
	r.costChecks(spec, tl, opts, shapes)
	r.spotChecks(opts, shapes)

	for _, c := range r.Checks {
		if strings.HasPrefix(c.ID, "FALSIFY-") {
			r.Coverage.Total++
			if c.Pass {
				r.Coverage.Verified++
			}
		}
	}
	r.Gate = GateJSON{ID: r.ob.Gate, Pass: r.Coverage.Total == len(r.ob.List()) && r.Coverage.Verified == r.Coverage.Total}
	r.Layers = layerAudit(tl, pred, r.Findings)
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return r, nil
}

// Pass reports whether every check passed and the gate with them.
func (r *Report) Pass() bool {
	for _, c := range r.Checks {
		if !c.Pass && !c.Skipped {
			return false
		}
	}
	return r.Gate.Pass
}

// skip records a check that does not apply to the architecture: it does
// not pass, and it is no finding.
func (r *Report) skip(c Check, why string) {
	c.Skipped, c.Detail = true, "not applicable: "+why
	r.Checks = append(r.Checks, c)
}

// addCheck records a check whose findings decide it: it passes with none.
func (r *Report) addCheck(c Check, findings []Finding, okDetail string) {
	c.Pass = len(findings) == 0
	c.Findings = len(findings)
	c.Detail = describe(findings, okDetail)
	r.Checks = append(r.Checks, c)
	r.Findings = append(r.Findings, findings...)
}

// checkCounts runs obligations 1 and 2 (FALSIFY-QM3E-001 and -002): the tallied counts equal the
// predicted ones exactly, and fall in the profile's ranges when one applies.
func (r *Report) checkCounts(p *arch.Profile, pred arch.Prediction, active, total int64) {
	count := func(id, title string, got, want int64, rng *[2]int64, what string) {
		var fs []Finding
		if got != want {
			fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("the files hold %s %s parameters, the config predicts %s (%+d)", textfmt.Count(got), what, textfmt.Count(want), got-want)})
		}
		detail := fmt.Sprintf("%s (%s) tallied = predicted", textfmt.Count(got), textfmt.Params(got))
		if rng != nil {
			in := want >= rng[0] && want <= rng[1]
			if !in {
				fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("%s %s parameters outside [%s, %s] for %s", textfmt.Params(want), what, textfmt.Params(rng[0]), textfmt.Params(rng[1]), p.Name)})
			}
			detail += fmt.Sprintf(", in [%s, %s] for %s", textfmt.Params(rng[0]), textfmt.Params(rng[1]), p.Name)
		}
		r.addCheck(Check{ID: id, Title: title, Level: "structural", Measured: got, Predicted: want}, fs, detail)
	}
	var tr, ar *[2]int64
	if p != nil {
		tr, ar = &p.Total, &p.Active
	}
	count(r.ob.Total, "total parameter count", total, pred.Total, tr, "total")
	count(r.ob.Active, "active parameter count", active, pred.Active, ar, "active")
}

// layerAudit tallies each layer against its prediction.
func layerAudit(tl *roleSums, pred arch.Prediction, findings []Finding) []LayerAudit {
	m := map[int]*LayerAudit{}
	add := func(l int, lt *layerSums) {
		a := &LayerAudit{Layer: l, Tensors: lt.tensors, Params: lt.params, Active: lt.active, Bytes: lt.byts, Groups: map[string]int64{}}
		for g, n := range lt.groups {
			if n != 0 {
				a.Groups[arch.Group(g).String()] = n
			}
		}
		m[l] = a
	}
	for i := range tl.inLayers {
		if tl.inLayers[i].tensors > 0 {
			add(i-1, &tl.inLayers[i])
		}
	}
	for l, lt := range tl.elsewhere {
		add(l, lt)
	}
	get := func(l int) *LayerAudit {
		a := m[l]
		if a == nil {
			a = &LayerAudit{Layer: l, Groups: map[string]int64{}}
			m[l] = a
		}
		return a
	}
	outside := pred.Total
	for _, lp := range pred.Layers {
		get(lp.Layer).PredictedParams = lp.Total
		outside -= lp.Total
	}
	get(-1).PredictedParams = outside
	for _, f := range findings {
		if f.Tensor != "" {
			get(checkpoint.LayerOf(f.Tensor)).Findings++
		}
	}
	out := make([]LayerAudit, 0, len(m))
	for _, a := range m {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layer < out[j].Layer })
	return out
}

// sourceNames returns the names that may carry a size label: the GGUF name and
// size label, the source, and the files.
func sourceNames(ck *checkpoint.Checkpoint) []string {
	var out []string
	if len(ck.GGUF) > 0 {
		for _, k := range []string{"general.size_label", "general.name", "general.basename"} {
			if s, err := ck.GGUF[0].GetString(k); err == nil {
				out = append(out, s)
			}
		}
	}
	out = append(out, ck.Source)
	for _, f := range ck.Files {
		out = append(out, f.Name)
	}
	return out
}

func filesDetail(ck *checkpoint.Checkpoint) string {
	switch {
	case ck.Format == checkpoint.FormatGGUF && len(ck.GGUF) > 1:
		return fmt.Sprintf("%d split parts consistent", len(ck.GGUF))
	case ck.Format == checkpoint.FormatGGUF:
		return "one GGUF file"
	case ck.Index != nil:
		return fmt.Sprintf("%s maps every tensor to the one shard of %d that holds it; total_size agrees", ck.IndexName, len(ck.Shards))
	}
	return fmt.Sprintf("%d shard(s) without an index", len(ck.Shards))
}

func configDetail(ck *checkpoint.Checkpoint) string {
	switch {
	case ck.Format != checkpoint.FormatGGUF:
		return "not applicable: the architecture comes from config.json alone"
	case ck.Config == nil:
		return "no config.json beside the GGUF file: the architecture comes from its metadata"
	}
	return "config.json agrees with the GGUF metadata"
}

func presetNames() string {
	var names []string
	for _, h := range cost.HardwarePresets() {
		names = append(names, h.Name)
	}
	return strings.Join(names, ", ")
}

// spotChecks records obligations 6 and 7 (FALSIFY-QM3E-006 and -007): structurally from the
// weights' shapes, and empirically where a spot-check ran.
func (r *Report) spotChecks(opts Options, shapes arch.Shapes) {
	var layer, full *spotcheck.Result
	for _, s := range opts.Spot {
		if s.Full && full == nil {
			full = s
		} else if !s.Full && layer == nil {
			layer = s
		}
	}
	spotFinding := func(id string, s *spotcheck.Result) []Finding {
		if s == nil || s.Passes() {
			return nil
		}
		return []Finding{{Check: id, Message: fmt.Sprintf("the spot-check gave shape %v from %v, finite %v, float32 vs float64 %.3g (tolerance %.0e)",
			s.ShapeOut, s.ShapeIn, s.Finite, s.MaxRelErr, spotcheck.Tolerance)}}
	}
	c := Check{ID: r.ob.Blocks, Title: "every block preserves shape", Level: "structural", Measured: shapes.Blocks, Predicted: shapes.Layers}
	if !shapes.Applicable {
		r.skip(c, "the architecture gives no block shape walk")
		r.skip(Check{ID: r.ob.EndToEnd, Title: "tokens → [seq, d] → … → [seq, V]", Level: "structural"}, "the architecture gives no block shape walk")
		return
	}
	detail := fmt.Sprintf("all %d blocks map [seq, %d] to [seq, %d] by their weights' shapes", shapes.Layers, shapes.D, shapes.D)
	switch {
	case full != nil:
		c.Level = "empirical"
		detail += fmt.Sprintf("; every block ran on the weights (--full, %d tokens): finite, float32 vs float64 %.2g", len(full.Tokens), full.MaxRelErr)
	case layer != nil:
		c.Level = "empirical"
		detail += fmt.Sprintf("; block %d ran on the weights (%d tokens): %v → %v, finite, float32 vs float64 %.2g", layer.Layer, len(layer.Tokens), layer.ShapeIn, layer.ShapeOut, layer.MaxRelErr)
	default:
		detail += "; not run on the weights (audit --spotcheck)"
	}
	blockSpot := layer
	if blockSpot == nil {
		blockSpot = full
	}
	r.addCheck(c, append(shapeFindings(r.ob.Blocks, shapes.PerBlock), spotFinding(r.ob.Blocks, blockSpot)...), detail)

	c = Check{ID: r.ob.EndToEnd, Title: "tokens → [seq, d] → … → [seq, V]", Level: "structural"}
	detail = fmt.Sprintf("tokens → [seq, %d] → %d blocks → [seq, %d] → [seq, %d] by the weights' shapes", shapes.D, shapes.Layers, shapes.D, shapes.Vocab)
	if full != nil {
		c.Level = "empirical"
		detail += fmt.Sprintf("; the full model ran: %v tokens → logits %v", full.ShapeIn, full.ShapeOut)
	} else {
		detail += "; not run end to end (audit --spotcheck on a model under " + textfmt.Bytes(spotcheck.MaxFullBytes) + ")"
	}
	r.addCheck(c, append(shapeFindings(r.ob.EndToEnd, shapes.EndToEnd), spotFinding(r.ob.EndToEnd, full)...), detail)
}
