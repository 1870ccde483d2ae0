package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// shares is the checkpoint's parameters and bytes per category (a layer
// or a component group) and dtype: params counts the model's parameters
// as the report's tallies do (packed values unpacked, the parts apart from
// the total left out), bytes every tensor.
type shares struct {
	categories    []string
	dtypes        []string
	params, bytes [][]float64 // [dtype][category]
}

// layerShares breaks the parameters and bytes down per layer ("other"
// first for the tensors outside the layers) and dtype, the dtypes in the
// report's order (most bytes first).
func (a *auditRun) layerShares() shares {
	layers := map[int]bool{}
	for i := range a.inv.Tensors {
		layers[a.inv.Tensors[i].Layer] = true
	}
	order := slices.Sorted(func(yield func(int) bool) {
		for l := range layers {
			if !yield(l) {
				return
			}
		}
	})
	index := map[int]int{}
	var cats []string
	for i, l := range order {
		index[l] = i
		label := fmt.Sprint(l)
		if l < 0 {
			label = "other"
		}
		cats = append(cats, label)
	}
	return a.shares(cats, func(i int) int { return index[a.inv.Tensors[i].Layer] })
}

// componentShares breaks them down per component ("other" for the
// tensors the architecture does not predict), in the order of the
// components' groups, then by name.
func (a *auditRun) componentShares() shares {
	type key struct {
		group arch.Group
		name  string
	}
	seen := map[key]bool{}
	name := func(i int) key {
		r := &a.roles[i]
		if !r.Known {
			return key{arch.GroupOther, "other"}
		}
		return key{r.Group, string(r.Component)}
	}
	var keys []key
	for i := range a.roles {
		if k := name(i); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y key) int {
		if x.group != y.group {
			return int(x.group) - int(y.group)
		}
		return strings.Compare(x.name, y.name)
	})
	index := map[key]int{}
	cats := make([]string, len(keys))
	for i, k := range keys {
		index[k], cats[i] = i, k.name
	}
	return a.shares(cats, func(i int) int { return index[name(i)] })
}

func (a *auditRun) shares(cats []string, category func(tensor int) int) shares {
	s := shares{categories: cats}
	dindex := map[string]int{}
	for _, d := range a.report.DTypes {
		dindex[d.DType] = len(s.dtypes)
		s.dtypes = append(s.dtypes, d.DType)
	}
	s.params, s.bytes = make([][]float64, len(s.dtypes)), make([][]float64, len(s.dtypes))
	for i := range s.dtypes {
		s.params[i], s.bytes[i] = make([]float64, len(cats)), make([]float64, len(cats))
	}
	for i := range a.inv.Tensors {
		t, r := &a.inv.Tensors[i], &a.roles[i]
		d, c := dindex[t.DType], category(i)
		s.bytes[d][c] += float64(t.Bytes)
		if r.Known && r.Part != arch.PartModel {
			continue
		}
		n := t.Params
		if r.Known && r.Values > 1 {
			n *= int64(r.Values)
		}
		s.params[d][c] += float64(n)
	}
	return s
}

// charts draws the parameters and the bytes of s as two stacked bar
// charts.
func (s shares) charts(what, xl string, width float64, horizontal bool) ([]htmlreport.Chart, []string) {
	var charts []htmlreport.Chart
	var notes []string
	for _, m := range []struct {
		name, unit string
		v          [][]float64
		scale      float64
	}{{"Parameters", "parameters", s.params, 1}, {"Bytes", "GiB", s.bytes, 1 << 30}} {
		b := htmlreport.Bars{Title: m.name + " per " + what + ", by dtype", XLabel: xl, YLabel: m.unit, Categories: s.categories, Width: width, Horizontal: horizontal}
		if horizontal {
			b.Height = 60 + 17*float64(len(s.categories))
		}
		for i, d := range s.dtypes {
			vs := make([]float64, len(m.v[i]))
			for j, v := range m.v[i] {
				vs[j] = v / m.scale
			}
			b.Series = append(b.Series, htmlreport.Series{Name: d, Values: vs})
		}
		c, err := htmlreport.StackedBars(b)
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		charts = append(charts, c)
	}
	return charts, notes
}

// The chart ranges: context lengths from 512 to at least 128K, batches
// from 1 to 1024, in powers of two.
const (
	chartMinCtx   = 512
	chartMaxCtx   = 128 << 10
	chartMaxBatch = 1024
)

// chartKVTypes are the KV cache types the memory chart draws.
var chartKVTypes = []string{"f32", "f16", "q8_0", "q4_0"}

func (a *auditRun) htmlCharts() []htmlreport.Section {
	var out []htmlreport.Section
	ls := a.layerShares()
	lc, ln := ls.charts("layer", "layer", 0, false)
	out = append(out, htmlreport.Section{Title: "Parameters and bytes per layer", Charts: lc, Notes: ln,
		Caption: "Stacked by dtype; \"other\" holds the tensors outside the decoder layers (embedding, final norm, lm_head)."})
	cs := a.componentShares()
	cc, cn := cs.charts("component", "component", 415, true)
	out = append(out, htmlreport.Section{Title: "Parameters and bytes per component", Charts: cc, Notes: cn,
		Caption: "Stacked by dtype; a routed expert's component sums all its experts; \"other\" holds the tensors the architecture does not predict."})
	out = append(out, a.memoryChart(), a.rooflineCharts())
	return out
}

// memoryChart draws weights + KV cache + activations against the context
// length, one line per KV cache type, with each machine's memory as a
// level (machines of one size share a line), and beside it the KV cache
// alone.
func (a *auditRun) memoryChart() htmlreport.Section {
	batch := a.opts.Batch
	s := htmlreport.Section{Title: "Memory against context length",
		Caption: fmt.Sprintf("Left: weights as stored (%s) + KV cache + activations at batch %d, per KV cache type, and each machine's memory (dashed). Right: the KV cache alone.",
			textfmt.Bytes(a.tl.weightBytes), batch)}
	maxCtx := max(chartMaxCtx, a.opts.Ctx)
	total := htmlreport.Lines{Title: "Memory against context length", XLabel: "context length (tokens)", YLabel: "GiB", LogX: true, LogY: true, Width: 460, Height: 270, LegendLeft: true}
	kvOnly := htmlreport.Lines{Title: "KV cache against context length", XLabel: "context length (tokens)", YLabel: "GiB", LogX: true, LogY: true, Width: 370, Height: 270, LegendLeft: true}
	for i, kt := range chartKVTypes {
		tl, kl := htmlreport.Line{Name: "KV " + kt, Color: i}, htmlreport.Line{Name: "KV " + kt, Color: i}
		for ctx := int64(chartMinCtx); ctx <= maxCtx; ctx *= 2 {
			kv, err := cost.KVCacheBytes(a.spec, ctx, batch, kt)
			if errors.Is(err, arch.ErrNotApplicable) {
				s.Notes = append(s.Notes, "no memory chart: "+err.Error())
				return s
			}
			if err != nil {
				s.Notes = append(s.Notes, fmt.Sprintf("KV %s at ctx %d: %v", kt, ctx, err))
				tl.X = nil
				break
			}
			sum := float64(a.tl.weightBytes) + float64(kv) + float64(cost.ActivationBytes(a.spec, ctx, batch))
			tl.X, tl.Y = append(tl.X, float64(ctx)), append(tl.Y, sum/(1<<30))
			kl.X, kl.Y = append(kl.X, float64(ctx)), append(kl.Y, float64(kv)/(1<<30))
		}
		if tl.X != nil {
			total.Lines, kvOnly.Lines = append(total.Lines, tl), append(kvOnly.Lines, kl)
		}
	}
	if len(total.Lines) == 0 {
		return s
	}
	var levels []capacity
	for _, hw := range a.opts.machines() {
		levels = append(levels, capacity{hw.Name, hw.MemoryBytes})
	}
	total.Lines = append(total.Lines, capacityLines(levels, chartMinCtx, float64(maxCtx))...)
	for _, l := range []htmlreport.Lines{total, kvOnly} {
		s.AddLines(l)
	}
	return s
}

// capacity is a memory level a chart draws: a machine's, named.
type capacity struct {
	name  string
	bytes int64
}

// capacityLines draws each capacity as a dashed grey level from x0 to x1
// in GiB, labelled with its names and its size in GB; capacities of one
// size share a level, those of unknown size (≤ 0) are left out.
func capacityLines(levels []capacity, x0, x1 float64) []htmlreport.Line {
	var sizes []int64
	names := map[int64][]string{}
	for _, c := range levels {
		if c.bytes <= 0 {
			continue
		}
		if names[c.bytes] == nil {
			sizes = append(sizes, c.bytes)
		}
		names[c.bytes] = append(names[c.bytes], c.name)
	}
	slices.Sort(sizes)
	var out []htmlreport.Line
	for i, n := range sizes {
		gib := float64(n) / (1 << 30)
		// A level within 25% of the one below has its label at the
		// other end, so that the two do not overlap.
		left := i > 0 && float64(n) < 1.25*float64(sizes[i-1]) && !out[i-1].LabelLeft
		out = append(out, htmlreport.Line{X: []float64{x0, x1}, Y: []float64{gib, gib}, Color: -1, Dashed: true,
			Label: fmt.Sprintf("%s %.0f GB", strings.Join(names[n], ", "), float64(n)/1e9), LabelLeft: left})
	}
	return out
}

// rooflineCharts draws, per machine, the decode throughput against the
// batch under both traffic models, the batches where the all-weights
// model is compute-bound shaded.
func (a *auditRun) rooflineCharts() htmlreport.Section {
	s := htmlreport.Section{Title: "Roofline per machine", Small: true,
		Caption: fmt.Sprintf("Decode tokens/s against batch at ctx %d (KV cache %s, read once per step): solid all weights per step, dashed active weights per step; shaded: compute-bound under the all-weights model, memory-bound elsewhere.", a.opts.Ctx, a.opts.KVType)}
	if !a.costs.costed {
		s.Notes = append(s.Notes, "no roofline: the architecture gives no attention cost model")
		return s
	}
	for _, hw := range a.opts.machines() {
		l := htmlreport.Lines{Title: hw.Name, XLabel: "batch", YLabel: "tok/s", LogX: true, LogY: true, Width: 270, Height: 200, LegendLeft: true}
		var band *htmlreport.Band
		var fits *bool
		ok := true
		for ti, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
			line := htmlreport.Line{Name: traffic.String(), Color: 0, Dashed: ti == 1}
			for b := int64(1); b <= chartMaxBatch; b *= 2 {
				in := a.rooflineInput(hw, traffic)
				kv, err := cost.KVCacheBytes(a.spec, a.opts.Ctx, b, a.opts.KVType)
				if err != nil {
					s.Notes = append(s.Notes, fmt.Sprintf("%s, batch %d: %v", hw.Name, b, err))
					ok = false
					break
				}
				in.Batch, in.KVBytes = b, kv
				rl, err := cost.RooflineFor(in)
				if err != nil {
					s.Notes = append(s.Notes, fmt.Sprintf("%s, batch %d: %v", hw.Name, b, err))
					ok = false
					break
				}
				line.X, line.Y = append(line.X, float64(b)), append(line.Y, rl.TokensPerSecond)
				if fits == nil && hw.MemoryBytes > 0 {
					fits = &rl.Fits
				}
				if ti == 0 && rl.Bound == cost.BoundCompute {
					if band == nil {
						band = &htmlreport.Band{Name: "compute-bound", X0: float64(b)}
					}
					band.X1 = float64(b)
				}
			}
			if !ok {
				break
			}
			l.Lines = append(l.Lines, line)
		}
		if !ok {
			continue
		}
		// The compute roof: Compute / FLOPs per token, whatever the batch.
		roof := hw.Compute / float64(a.costs.flops.Total)
		l.Lines = append(l.Lines, htmlreport.Line{X: []float64{1, chartMaxBatch}, Y: []float64{roof, roof}, Color: -1, Dashed: true, Label: "compute roof"})
		switch {
		case band == nil:
			l.Title += ": memory-bound"
		default:
			l.Title += fmt.Sprintf(": compute-bound from batch %.0f", band.X0)
		}
		if fits != nil && !*fits {
			l.Title += fmt.Sprintf("; does not fit in %.0f GB", float64(hw.MemoryBytes)/1e9)
		}
		if band != nil {
			// The band reaches back to the last memory-bound batch's
			// midpoint (on the log axis) so that a single batch shows.
			band.X0 /= 1.41421356
			l.Bands = []htmlreport.Band{*band}
		}
		s.AddLines(l)
	}
	return s
}

// dtypesOf is the report's tally per dtype.
func dtypesOf(a *auditRun) []DTypeJSON {
	var out []DTypeJSON
	for _, d := range a.inv.DTypes() {
		out = append(out, DTypeJSON(d))
	}
	return out
}
