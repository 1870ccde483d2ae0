package audit

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// WritePlanHTML writes p as one self-contained HTML page (package
// internal/htmlreport): what fits where first (the banner fails when no
// machine holds the offloaded part), the totals and the run's options,
// a row per machine and per device with exact byte counts, charts of
// the memory against the context length at the plan's K and V cache
// types with each machine's capacity on its most devices, of the fewest
// devices each machine needs at each context, and of where the memory
// goes (host and devices, each device of each machine
// with its free memory), then the machines that do not fit and the
// plan's approximations in the searchable list. The memory chart plans
// the run again at other contexts ([cost.Plan.AtContext]): a plan decoded
// from JSON gets the other charts only.
func WritePlanHTML(p *cost.Plan, w io.Writer) error {
	return htmlreport.Write(w, planPage(p))
}

func planPage(p *cost.Plan) *htmlreport.Page {
	verdict, headline, causes := planVerdict(p)
	pg := &htmlreport.Page{Title: "weightaudit plan " + p.Source, Verdict: verdict, Headline: headline, RootCauses: causes}
	maxCtx := fmt.Sprintf("max %s", textfmt.Count(p.MaxCtx))
	if p.MaxCtx == 0 {
		maxCtx = "the config gives no maximum"
	}
	count := textfmt.Count
	pg.Facts = []htmlreport.Fact{
		{Key: "source", Label: "source", Value: p.Source, Note: fmt.Sprintf("%d layers", p.Layers)},
		{Key: "weight_bytes", Label: "weights", Value: count(p.WeightBytes), Note: textfmt.Bytes(p.WeightBytes)},
		{Key: "kv_bytes", Label: "KV cache", Value: count(p.KV.Total), Note: textfmt.Bytes(p.KV.Total) + ": " + kvText(p)},
		{Key: "total_bytes", Label: "total", Value: count(p.TotalBytes), Note: textfmt.Bytes(p.TotalBytes) + "; activations and compute buffers not counted"},
		{Key: "host_bytes", Label: "host RAM", Value: count(p.Host.Total), Note: textfmt.Bytes(p.Host.Total) + ": " + placeText(p.Host, true)},
		{Key: "offloaded_bytes", Label: "offloaded", Value: count(p.Offloaded.Total), Note: textfmt.Bytes(p.Offloaded.Total) + ": " + placeText(p.Offloaded, false)},
		{Key: "ctx", Label: "context per sequence", Value: count(p.Ctx), Note: maxCtx},
		{Key: "parallel", Label: "sequences", Value: count(p.Parallel), Note: fmt.Sprintf("micro-batch %d", p.Batch)},
		{Key: "cache_type_k", Label: "K cache type", Value: p.CacheK, Note: textfmt.Bytes(p.KV.K)},
		{Key: "cache_type_v", Label: "V cache type", Value: p.CacheV, Note: textfmt.Bytes(p.KV.V)},
		{Key: "gpu_layers", Label: "--gpu-layers", Value: count(p.GPULayers), Note: offloadText(p)},
	}
	if n := p.MaxDevices(); n > 0 {
		pg.Facts = append(pg.Facts, htmlreport.Fact{Key: "devices", Label: "devices per machine, at most", Value: count(n), Note: "the plan uses the fewest that hold the offloaded part"})
	}
	mt := htmlreport.Table{Key: "machines", Title: "Machines",
		Columns: []string{"machine", "memory per device", "fits", "devices", "least free (bytes)", "least free", "layers per device"},
		Numeric: []bool{false, true, false, true, true, true, false}}
	dt := htmlreport.Table{Key: "devices", Title: "Each device's share",
		Columns: []string{"machine", "device", "layers", "weights", "KV cache", "total", "free"},
		Numeric: []bool{false, true, false, true, true, true, true}}
	for _, m := range p.Machines {
		split := "—"
		if m.Fits || m.Hardware.MemoryBytes == 0 {
			split = splitText(m)
		}
		mt.Rows = append(mt.Rows, []string{m.Hardware.Name, count(m.Hardware.MemoryBytes), yesNo(m.Fits), count(m.Devices), count(m.MinFree), textfmt.Bytes(m.MinFree), split})
		for i, s := range m.Split {
			dt.Rows = append(dt.Rows, []string{m.Hardware.Name, fmt.Sprint(i + 1), deviceText(s), count(s.WeightBytes), count(s.KVBytes), count(s.Total), count(s.Free)})
		}
	}
	pg.Tables = []htmlreport.Table{mt, dt}
	pg.Sections = []htmlreport.Section{planMemoryChart(p), planShareCharts(p)}
	for _, m := range p.Machines {
		if !m.Fits && m.Hardware.MemoryBytes > 0 && p.Offloaded.Total > 0 {
			pg.Findings = append(pg.Findings, htmlreport.Finding{Check: "PLAN-FIT", File: m.Hardware.Name, Message: fitSentence(m)})
		}
	}
	for _, n := range p.Notes {
		pg.Findings = append(pg.Findings, htmlreport.Finding{Check: "PLAN-NOTE", Message: n})
	}
	return pg
}

// planVerdict is the page's banner: pass when a machine holds the
// offloaded part (or nothing is offloaded), fail when none does, with the
// machines' shortfalls as root causes; incomplete when no machine's
// memory is known.
func planVerdict(p *cost.Plan) (verdict, headline string, causes []string) {
	if p.Offloaded.Total == 0 {
		return "pass", fmt.Sprintf("%s: nothing offloaded; %s in host RAM", p.Source, textfmt.Bytes(p.Host.Total)), nil
	}
	var known, fits []cost.Fit
	for _, m := range p.Machines {
		if m.Hardware.MemoryBytes > 0 {
			known = append(known, m)
			if m.Fits {
				fits = append(fits, m)
			}
		}
	}
	what := fmt.Sprintf("%s: %s offloaded at ctx %d", p.Source, textfmt.Bytes(p.Offloaded.Total), p.Ctx)
	switch {
	case len(known) == 0:
		return "incomplete", what + "; no machine with a known memory size", nil
	case len(known) == 1:
		v := "pass"
		if len(fits) == 0 {
			v, causes = "fail", []string{known[0].Hardware.Name + ": " + fitSentence(known[0])}
		}
		return v, what + " " + fitSentence(known[0]), causes
	case len(fits) == 0:
		for _, m := range known {
			if len(causes) < htmlreport.MaxRootCauses {
				causes = append(causes, m.Hardware.Name+": "+fitSentence(m))
			}
		}
		upTo := ""
		if n := p.MaxDevices(); n > 0 {
			upTo = fmt.Sprintf(" with up to %d devices each", n)
		}
		return "fail", fmt.Sprintf("%s does not fit on any of the %d machines%s", what, len(known), upTo), causes
	}
	// The fewest devices, then the most free memory.
	best := slices.MinFunc(fits, func(a, b cost.Fit) int {
		if c := cmp.Compare(a.Devices, b.Devices); c != 0 {
			return c
		}
		return cmp.Compare(b.MinFree, a.MinFree)
	})
	return "pass", fmt.Sprintf("%s fits on %d of %d machines; on the fewest devices: %s", what, len(fits), len(known), fitsOn(best)), nil
}

// planContexts are the contexts the memory chart plans at: powers of two
// from 512 (or the plan's context, when smaller) to the model's maximum
// (128K at least when the config gives none), with the plan's context
// and the maximum themselves.
func planContexts(p *cost.Plan) []int64 {
	hi := p.MaxCtx
	if hi == 0 {
		hi = max(chartMaxCtx, p.Ctx)
	}
	lo := min(chartMinCtx, p.Ctx)
	out := []int64{lo, p.Ctx, hi}
	for c := int64(1); c < hi; c *= 2 {
		if c > lo {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// chartTolerance is how far apart (relative) two of the memory charts'
// lines may be and still be drawn as one: 1%, half a pixel on their log
// axes.
const chartTolerance = 0.01

// planMemoryChart draws the memory the devices hold and the whole run's
// against the context length, with each machine's capacity on the most
// devices the plan tries, and beside it the K and V caches at their
// types.
func planMemoryChart(p *cost.Plan) htmlreport.Section {
	s := htmlreport.Section{Title: "Memory against context length"}
	caption := fmt.Sprintf("Left: the offloaded part (weights + KV cache on the devices) and the total, with K %s and V %s, %d sequence(s); dashed: each machine's memory on its %d devices (whole layers per device: the split may need more before the line); the circle: this plan at ctx %d. Right: the K and V caches.",
		p.CacheK, p.CacheV, p.Parallel, p.MaxDevices(), p.Ctx)
	ctxs := planContexts(p)
	type curve struct {
		name  string
		color int
		v     func(*cost.Plan) int64
	}
	left := []curve{{"offloaded", 0, func(q *cost.Plan) int64 { return q.Offloaded.Total }}, {"total", 1, func(q *cost.Plan) int64 { return q.TotalBytes }}}
	right := []curve{{"K " + p.CacheK, 2, func(q *cost.Plan) int64 { return q.KV.K }}, {"V " + p.CacheV, 3, func(q *cost.Plan) int64 { return q.KV.V }}, {"K + V", 4, func(q *cost.Plan) int64 { return q.KV.Total }}}
	plans := make([]*cost.Plan, len(ctxs))
	for i, c := range ctxs {
		q, err := p.AtContext(c)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("no memory chart: at ctx %d: %v", c, err))
			return s
		}
		plans[i] = q
	}
	s.Caption = caption
	lines := func(cs []curve) []htmlreport.Line {
		var out []htmlreport.Line
	next:
		for _, c := range cs {
			l := htmlreport.Line{Name: c.name, Color: c.color}
			for i, q := range plans {
				v := c.v(q)
				if v <= 0 { // nothing to draw on a log axis (no V cache, nothing offloaded)
					continue next
				}
				l.X, l.Y = append(l.X, float64(ctxs[i])), append(l.Y, float64(v)/(1<<30))
			}
			out = append(out, l)
		}
		return out
	}
	x0, x1 := float64(ctxs[0]), float64(ctxs[len(ctxs)-1])
	total := htmlreport.Lines{Title: "Memory against context length", XLabel: "context length (tokens)", YLabel: "GiB", LogX: true, LogY: true, Width: 460, Height: 270, LegendLeft: true,
		Lines: htmlreport.MergeCoinciding(lines(left), " = ", chartTolerance)} // all offloaded: "offloaded ≈ total"
	if p.Offloaded.Total > 0 {
		var levels []capacity
		n := p.MaxDevices() // not 0: AtContext needs what MaxDevices reads
		for _, m := range p.Machines {
			levels = append(levels, capacity{fmt.Sprintf("%d × %s", n, m.Hardware.Name), m.Hardware.MemoryBytes * n})
		}
		total.Lines = append(total.Lines, capacityLines(levels, x0, x1)...)
		total.Marks = []htmlreport.Mark{{Name: fmt.Sprintf("this plan (ctx %d)", p.Ctx), X: []float64{float64(p.Ctx)}, Y: []float64{float64(p.Offloaded.Total) / (1 << 30)}, Shape: "circle"}}
	}
	s.AddLines(total)
	s.AddLines(htmlreport.Lines{Title: "KV cache against context length", XLabel: "context length (tokens)", YLabel: "GiB", LogX: true, LogY: true, Width: 370, Height: 270, LegendLeft: true,
		Lines: htmlreport.MergeCoinciding(lines(right), " = ", chartTolerance)}) // "K f16 = V f16"
	if p.Offloaded.Total > 0 {
		l := devicesChart(p, ctxs, plans)
		for _, m := range p.Machines {
			if m.Hardware.MemoryBytes > 0 && !slices.ContainsFunc(l.Lines, func(ln htmlreport.Line) bool { return ln.Name == m.Hardware.Name }) {
				s.Notes = append(s.Notes, fmt.Sprintf("%s: %d devices hold the offloaded part at no context from %d on.", m.Hardware.Name, p.MaxDevices(), ctxs[0]))
			}
		}
		l.Lines = htmlreport.MergeCoinciding(l.Lines, ", ", 0) // machines that need the same devices at every context
		s.AddLines(l)
		s.Caption += fmt.Sprintf(" Below: the fewest devices of each machine that hold the offloaded part, at each context; a line ends where %d no longer do.", p.MaxDevices())
	}
	return s
}

// devicesChart draws, per machine, the fewest devices that hold the
// offloaded part against the context length, plans[i] being the plan at
// ctxs[i]. A machine's line stops at the first context its devices do not
// hold (memory grows with the context); a machine that fits nowhere has
// no line.
func devicesChart(p *cost.Plan, ctxs []int64, plans []*cost.Plan) htmlreport.Lines {
	l := htmlreport.Lines{Title: "Devices needed against context length", XLabel: "context length (tokens)", YLabel: "devices", LogX: true,
		Width: 740, Height: 260, LegendLeft: true, YMin: 0, YMax: float64(p.MaxDevices()) + 1,
		YFormat: func(v float64) string { return fmt.Sprintf("%.0f", v) }}
	for m, hw := range p.Machines {
		if hw.Hardware.MemoryBytes <= 0 {
			continue
		}
		line := htmlreport.Line{Name: hw.Hardware.Name, Color: m}
		for i, q := range plans {
			f := q.Machines[m]
			if !f.Fits {
				break
			}
			line.X, line.Y = append(line.X, float64(ctxs[i])), append(line.Y, float64(f.Devices))
		}
		if len(line.X) > 0 {
			l.Lines = append(l.Lines, line)
		}
	}
	return l
}

// planShareCharts draws where the memory goes: the host's and the
// devices' weights and KV cache, then for each machine its devices, each
// with its free memory.
func planShareCharts(p *cost.Plan) htmlreport.Section {
	s := htmlreport.Section{Title: "Where the memory goes", Small: true,
		Caption: "GiB of weights, KV cache and free memory: on the host and on the devices together, then each machine's devices as the plan splits the layers over them."}
	gib := func(n int64) float64 { return float64(max(n, 0)) / (1 << 30) }
	bars := []htmlreport.Bars{{Title: "Host and devices", YLabel: "GiB", Categories: []string{"host RAM", "devices"}, Width: 270, Height: 200,
		Series: []htmlreport.Series{
			{Name: "weights", Values: []float64{gib(p.Host.WeightBytes), gib(p.Offloaded.WeightBytes)}},
			{Name: "KV cache", Values: []float64{gib(p.Host.KVBytes), gib(p.Offloaded.KVBytes)}},
		}}}
	for _, m := range p.Machines {
		if m.Hardware.MemoryBytes <= 0 || p.Offloaded.Total == 0 {
			continue
		}
		title := fmt.Sprintf("%s: fits on %d", m.Hardware.Name, m.Devices)
		if !m.Fits {
			title = fmt.Sprintf("%s: %d are %s short", m.Hardware.Name, m.Devices, textfmt.Bytes(-m.MinFree))
		}
		b := htmlreport.Bars{Title: title, XLabel: "device", YLabel: "GiB", Width: 270, Height: 200,
			Series: []htmlreport.Series{{Name: "weights"}, {Name: "KV cache"}, {Name: "free"}}}
		for i, d := range m.Split {
			b.Categories = append(b.Categories, fmt.Sprint(i+1))
			for j, v := range []int64{d.WeightBytes, d.KVBytes, d.Free} {
				b.Series[j].Values = append(b.Series[j].Values, gib(v))
			}
		}
		bars = append(bars, b)
	}
	for _, b := range bars {
		c, err := htmlreport.StackedBars(b)
		if err != nil {
			s.Notes = append(s.Notes, err.Error())
			continue
		}
		s.Charts = append(s.Charts, c)
	}
	return s
}
