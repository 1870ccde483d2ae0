package audit

import (
	"fmt"
	"io"
	"strings"

	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// PlanFormats lists the output formats of a memory plan ([cost.Plan]),
// the default first: a new format is one row.
var PlanFormats = outfmt.Table[*cost.Plan]{
	{Name: "table", Write: WritePlanText},
	{Name: "json", Write: func(p *cost.Plan, w io.Writer) error { return textfmt.WriteJSON(w, p) }},
	{Name: "markdown", Write: WritePlanMarkdown},
	{Name: "html", Write: WritePlanHTML},
}

// WritePlanText writes p for a terminal: the totals, where they go, and a
// line per machine.
func WritePlanText(p *cost.Plan, w io.Writer) error {
	pr := &textfmt.Printer{W: w}
	maxCtx := fmt.Sprintf("max %d", p.MaxCtx)
	if p.MaxCtx == 0 {
		maxCtx = "the config gives no maximum"
	}
	pr.F("plan: %d layers, ctx %d (%s), %d sequence(s), K %s, V %s; %s\n", p.Layers, p.Ctx, maxCtx, p.Parallel, p.CacheK, p.CacheV, offloadText(p))
	pr.F("  weights      %s\n", textfmt.Bytes(p.WeightBytes))
	pr.F("  KV cache     %s (%s)\n", textfmt.Bytes(p.KV.Total), kvText(p))
	pr.F("  total        %s (activations and compute buffers not counted)\n", textfmt.Bytes(p.TotalBytes))
	pr.F("  host RAM     %s: %s\n", textfmt.Bytes(p.Host.Total), placeText(p.Host, true))
	pr.F("  offloaded    %s: %s\n", textfmt.Bytes(p.Offloaded.Total), placeText(p.Offloaded, false))
	for _, n := range p.Notes {
		pr.F("  note: %s\n", n)
	}
	if p.Offloaded.Total > 0 {
		for _, m := range p.Machines {
			line := fitSentence(m)
			if m.Fits || m.Hardware.MemoryBytes == 0 {
				line += "; layers " + splitText(m)
			}
			pr.F("  %-14s %s\n", m.Hardware.Name, line)
		}
	}
	return pr.Err
}

// WritePlanMarkdown writes p for a CI step summary: the totals, then a
// row per machine.
func WritePlanMarkdown(p *cost.Plan, w io.Writer) error {
	pr := &textfmt.Printer{W: w}
	pr.F("## Memory plan: %s\n\n", p.Source)
	pr.F("%d layers, ctx %d, %d sequence(s), K cache %s, V cache %s, --gpu-layers %d\n\n", p.Layers, p.Ctx, p.Parallel, p.CacheK, p.CacheV, p.GPULayers)
	pr.F("| | bytes |\n|---|---:|\n")
	pr.F("| weights | %s |\n| KV cache | %s |\n| total | %s |\n| host RAM | %s |\n| offloaded | %s |\n\n",
		textfmt.Bytes(p.WeightBytes), textfmt.Bytes(p.KV.Total), textfmt.Bytes(p.TotalBytes), textfmt.Bytes(p.Host.Total), textfmt.Bytes(p.Offloaded.Total))
	if p.Offloaded.Total > 0 {
		pr.F("| machine | fits | devices | least free | layers per device |\n|---|---|---:|---:|---|\n")
		for _, m := range p.Machines {
			split := ""
			if m.Fits || m.Hardware.MemoryBytes == 0 {
				split = splitText(m)
			}
			pr.F("| %s | %s | %d | %s | %s |\n", m.Hardware.Name, yesNo(m.Fits), m.Devices, textfmt.Bytes(m.MinFree), split)
		}
	}
	for _, n := range p.Notes {
		pr.F("\n> %s\n", n)
	}
	return pr.Err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// offloadText says what --gpu-layers offloads.
func offloadText(p *cost.Plan) string {
	switch {
	case p.GPULayers == 0:
		return "nothing offloaded (--gpu-layers 0)"
	case p.GPULayers > p.Layers:
		return fmt.Sprintf("every layer and the output offloaded (--gpu-layers %d)", p.GPULayers)
	}
	return fmt.Sprintf("--gpu-layers %d", p.GPULayers)
}

// kvText breaks the KV cache down: "K 2.94 GiB f16, V 2.94 GiB f16;
// 5.88 GiB per sequence".
func kvText(p *cost.Plan) string {
	return fmt.Sprintf("K %s %s, V %s %s; %s per sequence", textfmt.Bytes(p.KV.K), p.CacheK,
		textfmt.Bytes(p.KV.V), p.CacheV, textfmt.Bytes(p.KVPerSequence.Total))
}

// placeText says which layers pl holds.
func placeText(pl cost.Placement, host bool) string {
	var parts []string
	if pl.Input && host {
		parts = append(parts, "input layer (token embedding)")
	}
	if pl.Layers > 0 {
		parts = append(parts, fmt.Sprintf("layers %d–%d", pl.FirstLayer, pl.LastLayer))
	}
	if pl.Output {
		parts = append(parts, "output layer")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// deviceText says which layers one device holds: "0–47", "48–93 +
// output".
func deviceText(s cost.Placement) string {
	switch {
	case s.Layers > 0 && s.Output:
		return fmt.Sprintf("%d–%d + output", s.FirstLayer, s.LastLayer)
	case s.Layers > 0:
		return fmt.Sprintf("%d–%d", s.FirstLayer, s.LastLayer)
	case s.Output:
		return "output"
	}
	return "nothing"
}

// splitText lists each device's layers: "0–47 | 48–93 + output".
func splitText(f cost.Fit) string {
	split := make([]string, len(f.Split))
	for i, s := range f.Split {
		split[i] = deviceText(s)
	}
	return strings.Join(split, " | ")
}

// fitSentence is what one machine's plan comes to: "fits on 2 × H200 with
// 43.10 GiB free each at least", "does not fit on 8 × RTX 4090: the
// fullest is 34.00 GiB short", or "memory unknown".
func fitSentence(f cost.Fit) string {
	switch {
	case f.Hardware.MemoryBytes == 0:
		return "memory unknown"
	case f.Fits:
		return "fits on " + fitsOn(f)
	}
	return fmt.Sprintf("does not fit on %d × %s: the fullest is %s short", f.Devices, f.Hardware.Name, textfmt.Bytes(-f.MinFree))
}

// fitsOn names the devices of a machine that fits and their least free
// memory: "2 × H200 with 43.10 GiB free each at least".
func fitsOn(f cost.Fit) string {
	each := " each at least"
	if f.Devices == 1 {
		each = ""
	}
	return fmt.Sprintf("%d × %s with %s free%s", f.Devices, f.Hardware.Name, textfmt.Bytes(f.MinFree), each)
}
