package arch

import (
	"fmt"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// Core is what a family's spec holds besides its own methods: its family
// name, the config C it was made from, the tensor tables that config
// declares, and, for a spec read from GGUF metadata, what the metadata
// said ([GGUFSource]). A spec that embeds Core has [Spec.Family],
// [Spec.Config], [Spec.Expected], [Spec.Locate], [Spec.Count] and
// [Assigner.Assign] from it; the family gives the rest. It is immutable
// once the spec is made, and safe for concurrent use.
type Core[C any] struct {
	Tables // Expected, Locate, Assign and Count, by format
	family string
	cfg    *C
	src    *GGUFSource
}

// NewCore returns the core of a spec of family made from c, whose tables
// table declares ([NewTables]). The spec keeps c: the caller must not
// change it after.
func NewCore[C any](family string, c *C, table func(checkpoint.Format) TableSpec) Core[C] {
	return Core[C]{Tables: NewTables(table), family: family, cfg: c}
}

// Family returns the family's name, as registered.
func (c *Core[C]) Family() string { return c.family }

// Config returns the *C the spec was made from.
func (c *Core[C]) Config() any { return c.cfg }

// Cfg returns the config the spec was made from.
func (c *Core[C]) Cfg() *C { return c.cfg }

// Source returns what the GGUF metadata said of the config, for a spec
// read from a GGUF file; nil otherwise.
func (c *Core[C]) Source() *GGUFSource { return c.src }

func (c *Core[C]) keep(src *GGUFSource) { c.src = src }

// core gives [CompareConfig] the Core of a spec that embeds one.
func (c *Core[C]) core() *Core[C] { return c }

// Keep records that s was read from GGUF metadata with src: the keep
// function [FromGGUFFunc] takes, for a spec S that embeds a [Core].
func Keep[S interface{ keep(*GGUFSource) }](s S, src *GGUFSource) { s.keep(src) }

// CompareConfig is [ConfigComparer.CompareConfig] for a family whose
// config C has the fields fs: it lists each field GGUF metadata carries on
// which fromGGUF, a spec read from a GGUF file, disagrees with s, read
// from config.json ([Fields.CompareGGUF]). A fromGGUF of another type than
// S (another family's) is one conflict on model_type, not a comparison of
// unrelated fields.
func CompareConfig[C any, S interface {
	Spec
	core() *Core[C]
}](fs Fields[C], s S, fromGGUF Spec) []Conflict {
	g, ok := fromGGUF.(S)
	if !ok {
		return []Conflict{{Field: "model_type", Message: fmt.Sprintf("config.json describes %s, the GGUF metadata %s", s.Family(), fromGGUF.Family())}}
	}
	c, gc := s.core(), g.core()
	return fs.CompareGGUF(c.cfg, gc.cfg, gc.src)
}
