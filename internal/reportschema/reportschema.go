// Package reportschema generates the JSON Schema of every JSON report
// weightaudit writes from the Go types that write it, and checks the
// schemas committed in the repository's schema/ folder against them.
//
// Each report has a schema_version key whose value is its type's
// SchemaVersion constant; the schema of version N is committed as
// schema/NAME.vN.json and never changes: a change of the report's JSON
// shape needs a new version (bump the constant, run go generate, commit
// the new file beside the old ones). [Check] fails otherwise, and the
// generator (internal/schemagen) refuses to overwrite a committed version.
//
// The schemas describe what encoding/json writes: struct fields are
// required unless tagged omitempty or omitzero, no other key is allowed,
// a slice, map or pointer field that may be nil admits null, and types
// with a text encoding are strings (an enumeration of its names for an
// integer type that marshals only the values it names).
package reportschema

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/verify"
)

// BaseID is the start of every schema's $id: the schema/ folder of the
// repository.
const BaseID = "https://github.com/weightaudit/weightaudit/schema/"

// Report is one JSON report: its name (the schema's file name), the
// current schema version, the Go type encoded, and what it is.
type Report struct {
	Name    string
	Version int
	Type    reflect.Type
	Title   string
	// nullable lists extra properties (or "name[]" for an array's
	// items, "name[][]" for its items' items) that encode as null although
	// their Go type is not nilable: a custom MarshalJSON writes them so.
	nullable []string
}

// Reports lists every JSON report, in the order the README documents them.
var Reports = []Report{
	{Name: "audit", Version: audit.SchemaVersion, Type: reflect.TypeFor[audit.Report](), Title: "weightaudit audit report (audit --format json)"},
	{Name: "inspect", Version: audit.InspectSchemaVersion, Type: reflect.TypeFor[audit.InspectReport](), Title: "weightaudit inspect report (inspect --format json)"},
	{Name: "verify", Version: verify.SchemaVersion, Type: reflect.TypeFor[verify.Report](), Title: "weightaudit verify report (verify --format json)"},
	{Name: "diff", Version: verify.DiffSchemaVersion, Type: reflect.TypeFor[verify.DiffReport](), Title: "weightaudit diff report (diff --format json)"},
	{Name: "spotcheck", Version: spotcheck.SchemaVersion, Type: reflect.TypeFor[spotcheck.Result](), Title: "weightaudit spot-check report (spotcheck --format json)",
		// Result.MarshalJSON writes null for a non-finite number.
		nullable: []string{"max_rel_err", "output_norms[]", "expert_weights[][]"}},
	{Name: "compare", Version: compare.SchemaVersion, Type: reflect.TypeFor[compare.Report](), Title: "weightaudit compare report (compare --format json)"},
	{Name: "plan", Version: cost.PlanSchemaVersion, Type: reflect.TypeFor[cost.Plan](), Title: "weightaudit memory plan (plan --format json)"},
	{Name: "unfinished", Version: outfmt.UnfinishedSchemaVersion, Type: reflect.TypeFor[outfmt.Unfinished](), Title: "weightaudit: the document of a command that could not run to its end (--format json)"},
}

// Lookup returns the report called name.
func Lookup(name string) (Report, bool) {
	for _, r := range Reports {
		if r.Name == name {
			return r, true
		}
	}
	return Report{}, false
}

// File is the name of the report's schema file at its current version:
// "audit.v1.json".
func (r Report) File() string { return fmt.Sprintf("%s.v%d.json", r.Name, r.Version) }

var (
	timeType          = reflect.TypeFor[time.Time]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// Generate returns the report's JSON Schema (draft 2020-12), indented,
// ending in a newline.
func (r Report) Generate() ([]byte, error) {
	types := map[string]reflect.Type{}
	ref := &jsonschema.Reflector{
		// Definitions named by package and type: audit.Finding and
		// verify.Finding are different types.
		Namer: func(t reflect.Type) string {
			if t.Name() == "" {
				return "" // a slice or map: inline, not a definition
			}
			name := t.String() // "audit.Finding"
			types[name] = t
			return name
		},
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			switch {
			case t == timeType:
				return &jsonschema.Schema{Type: "string", Format: "date-time"}
			case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
				return &jsonschema.Schema{Type: "string", Enum: textEnum(t)}
			}
			return nil
		},
	}
	s := ref.ReflectFromType(r.Type)
	s.ID = jsonschema.ID(BaseID + r.File())
	s.Title = r.Title
	for name, def := range s.Definitions {
		if t, ok := types[name]; ok && t.Kind() == reflect.Struct {
			allowNull(def, t)
		}
	}
	root, ok := s.Definitions[r.Type.String()]
	if !ok || root.Properties == nil {
		return nil, fmt.Errorf("reportschema: %s: no definition of %s", r.Name, r.Type)
	}
	v, ok := root.Properties.Get("schema_version")
	if !ok {
		return nil, fmt.Errorf("reportschema: %s has no schema_version key", r.Type)
	}
	v.Const = r.Version
	for _, n := range r.nullable {
		if err := nullable(root, n); err != nil {
			return nil, fmt.Errorf("reportschema: %s: %w", r.Type, err)
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// nullable lets the property n of root be null: "name", or "name[]" for
// the items of the array name, "name[][]" for the items of its items.
func nullable(root *jsonschema.Schema, n string) error {
	name, _, _ := strings.Cut(n, "[]")
	depth := strings.Count(n, "[]")
	p, ok := root.Properties.Get(name)
	if !ok {
		return fmt.Errorf("no key %q", name)
	}
	if depth == 0 {
		root.Properties.Set(name, orNull(p))
		return nil
	}
	for i := range depth {
		if p.Items == nil && len(p.AnyOf) > 0 { // a nilable slice: the array or null
			p = p.AnyOf[0]
		}
		if p.Items == nil {
			return fmt.Errorf("key %q is no array at depth %d", name, i+1)
		}
		if i == depth-1 {
			p.Items = orNull(p.Items)
		} else {
			p = p.Items
		}
	}
	return nil
}

// maxEnum bounds the integer values [textEnum] tries.
const maxEnum = 256

// textEnum lists the texts of an integer type whose MarshalText refuses
// the values it does not name (spotcheck.DeadKind, cost.Traffic): the
// values 0…maxEnum-1 that marshal; nil for other types (any string).
func textEnum(t reflect.Type) []any {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return nil
	}
	if !t.Implements(textMarshalerType) {
		return nil // a pointer method: a value's text is not what a field writes
	}
	var names []any
	failed := false
	for i := range maxEnum {
		v := reflect.New(t).Elem()
		if v.CanInt() {
			v.SetInt(int64(i))
		} else {
			v.SetUint(uint64(i))
		}
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			failed = true
			continue
		}
		names = append(names, string(b))
	}
	if !failed {
		return nil // every value has a text: not an enumeration
	}
	return names
}

// allowNull lets the properties of struct t that encoding/json may write
// as null be null: slices, maps and pointers without omitempty (a nil one
// is written null), and the items of such slices and maps in turn.
func allowNull(def *jsonschema.Schema, t reflect.Type) {
	if def.Properties == nil {
		return
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p, ok := def.Properties.Get(name)
		if !ok {
			continue
		}
		p = nullItems(p, f.Type)
		if nilable(f.Type) && !strings.Contains(","+opts+",", ",omitempty,") {
			p = orNull(p)
		}
		def.Properties.Set(name, p)
	}
}

// nullItems lets the items of a slice or map schema be null when their
// Go type is nilable.
func nullItems(s *jsonschema.Schema, t reflect.Type) *jsonschema.Schema {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if s.Items != nil {
			s.Items = nullItems(s.Items, t.Elem())
			if nilable(t.Elem()) {
				s.Items = orNull(s.Items)
			}
		}
	case reflect.Map:
		if s.AdditionalProperties != nil && s.AdditionalProperties != jsonschema.FalseSchema && s.AdditionalProperties != jsonschema.TrueSchema {
			s.AdditionalProperties = nullItems(s.AdditionalProperties, t.Elem())
			if nilable(t.Elem()) {
				s.AdditionalProperties = orNull(s.AdditionalProperties)
			}
		}
	}
	return s
}

// nilable reports whether encoding/json may write a value of type t as
// null. Interfaces already admit anything.
func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer:
		return true
	}
	return false
}

func orNull(s *jsonschema.Schema) *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{s, {Type: "null"}}}
}

// ErrNotBumped is the error [Check] returns for a report whose JSON shape
// changed while its schema version stayed the same.
var ErrNotBumped = errors.New("the report's JSON shape changed without a schema_version bump")

// Check compares the schema files in dir (the schema/ folder) with what
// [Report.Generate] gives: the file of each report's current version must
// exist and equal the generated schema. A committed file that differs
// means the report changed without a version bump ([ErrNotBumped]); a
// missing one, that go generate was not run after a bump.
func Check(dir fs.FS) error {
	var errs []error
	for _, r := range Reports {
		want, err := r.Generate()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, err := fs.ReadFile(dir, r.File())
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("schema/%s is missing: run go generate ./schema and commit it", r.File()))
		case err != nil:
			errs = append(errs, err)
		case !bytes.Equal(got, want):
			errs = append(errs, fmt.Errorf("schema/%s differs from the %s type: %w (bump the version constant, run go generate ./schema, commit the new file; keep the old one)", r.File(), r.Type, ErrNotBumped))
		}
	}
	return errors.Join(errs...)
}
