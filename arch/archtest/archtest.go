// Package archtest holds what the architecture families' tests share:
// a spec whose expected tensors (and GGUF metadata) a test edits to
// synthesize a defect, synthesizing a spec in either format and loading
// or auditing it, and the questions the tests ask of the report. Only
// test files import it.
package archtest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Formats are the two checkpoint formats, safetensors first.
var Formats = []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF}

// An Edit changes the expected tensors es of format f. It may change es
// in place (the spec hands out a new list each time), but must give a
// changed shape a new slice: the entries share their shapes with the
// spec's templates.
type Edit func(f checkpoint.Format, es []arch.Expected) []arch.Expected

// Drop leaves out the tensors called names.
func Drop(names ...string) Edit {
	return func(_ checkpoint.Format, es []arch.Expected) []arch.Expected {
		return slices.DeleteFunc(es, func(e arch.Expected) bool { return slices.Contains(names, e.Name) })
	}
}

// Reshape gives the tensor called name the shape shape, in the format's
// own order.
func Reshape(name string, shape ...int64) Edit {
	return func(_ checkpoint.Format, es []arch.Expected) []arch.Expected {
		for i := range es {
			if es[i].Name == name {
				es[i].Shape = slices.Clone(shape)
			}
		}
		return es
	}
}

// Edited is a spec whose expected tensors Edit changes and whose GGUF
// metadata Meta changes (each nil for the spec's own), to synthesize a
// checkpoint with a defect or in an older form. Its config.json is the
// spec's own, so the audit of the checkpoint predicts the sound layout.
// The spec must be an [arch.GGUFWriter] for a GGUF file to be synthesized.
type Edited struct {
	arch.Spec
	Edit Edit
	Meta func([]gguf.KV) []gguf.KV
}

// Expected lists the spec's tensors of format f as Edit changes them.
func (e Edited) Expected(f checkpoint.Format) []arch.Expected {
	es := e.Spec.Expected(f)
	if e.Edit != nil {
		es = e.Edit(f, es)
	}
	return es
}

// GGUFArch returns the spec's GGUF architecture.
func (e Edited) GGUFArch() string { return e.Spec.(arch.GGUFWriter).GGUFArch() }

// GGUFMetadata returns the spec's GGUF metadata as Meta changes it.
func (e Edited) GGUFMetadata() []gguf.KV {
	kvs := e.Spec.(arch.GGUFWriter).GGUFMetadata()
	if e.Meta != nil {
		kvs = e.Meta(kvs)
	}
	return kvs
}

var _ arch.GGUFWriter = Edited{}

// DropKeys returns an [Edited] Meta that leaves out the metadata keys, as
// a converter that did not write them.
func DropKeys(keys ...string) func([]gguf.KV) []gguf.KV {
	return func(kvs []gguf.KV) []gguf.KV {
		return slices.DeleteFunc(kvs, func(kv gguf.KV) bool { return slices.Contains(keys, kv.Key) })
	}
}

// Synth says how to synthesize a spec (headers real, data virtual): HF
// the safetensors checkpoint, GGUF the GGUF file.
type Synth struct {
	HF   synth.HFOptions
	GGUF synth.GGUFOptions
}

// Default synthesizes F32 safetensors in two shards, or one F16 GGUF file
// with a tokenizer.
var Default = Synth{HF: synth.HFOptions{Shards: 2, DType: safetensors.F32}, GGUF: synth.GGUFOptions{Type: "F16"}}

// Layout synthesizes spec in format f under name.
func (s Synth) Layout(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format) *synth.Layout {
	tb.Helper()
	var l *synth.Layout
	var err error
	if f == checkpoint.FormatGGUF {
		l, err = synth.GGUF(name, spec, s.GGUF)
	} else {
		l, err = synth.HF(name, spec, s.HF)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Load synthesizes spec in format f under name and loads it.
func (s Synth) Load(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format) *checkpoint.Checkpoint {
	tb.Helper()
	ck, err := checkpoint.Load(context.Background(), s.Layout(tb, name, spec, f).Source())
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

// Audit synthesizes spec in format f under name, loads it and audits it
// with the default options.
func (s Synth) Audit(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format) *audit.Report {
	tb.Helper()
	r, err := audit.Run(s.Load(tb, name, spec, f), audit.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// Read synthesizes spec in format f under name, loads it and reads its
// architecture back as the audit does ([arch.FromCheckpoint]).
func (s Synth) Read(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format) (arch.Spec, []arch.Conflict, error) {
	tb.Helper()
	return arch.FromCheckpoint(s.Load(tb, name, spec, f))
}

// Failed lists the checks of r that failed (and were not skipped), each
// as "ID: detail", for a test's message.
func Failed(r *audit.Report) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Pass && !c.Skipped {
			out = append(out, c.ID+": "+c.Detail)
		}
	}
	return out
}

// Fails reports whether the check id of r failed (and was not skipped).
func Fails(r *audit.Report, id string) bool {
	return slices.ContainsFunc(r.Checks, func(c audit.Check) bool { return c.ID == id && !c.Pass && !c.Skipped })
}

// HasFinding reports whether r has a finding of check on tensor ("" for a
// finding that names none) whose message contains msg.
func HasFinding(r *audit.Report, check, tensor, msg string) bool {
	return slices.ContainsFunc(r.Findings, func(f audit.Finding) bool {
		return f.Check == check && f.Tensor == tensor && strings.Contains(f.Message, msg)
	})
}
