package reportschema_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/internal/reportschema"
)

const committed = "../../schema"

// The committed schemas are those the report types generate now: a
// report whose JSON shape changed needs a schema_version bump and go
// generate ./schema (which .ci/run checks leaves no diff).
func TestCommitted(t *testing.T) {
	if err := reportschema.Check(os.DirFS(committed)); err != nil {
		t.Error(err)
	}
}

// A schema that differs from the committed file of the same version is
// caught as a change without a bump; a missing file is caught too.
func TestCheckCatchesChange(t *testing.T) {
	base := fstest.MapFS{}
	for _, r := range reportschema.Reports {
		b, err := os.ReadFile(committed + "/" + r.File())
		if err != nil {
			t.Fatal(err)
		}
		base[r.File()] = &fstest.MapFile{Data: b}
	}
	if err := reportschema.Check(base); err != nil {
		t.Fatalf("Check(committed copy) = %v", err)
	}
	// The audit report as it was before a key was added: drop one key
	// from the committed schema, as a new field would add one.
	audit, _ := reportschema.Lookup("audit")
	old := strings.Replace(string(base[audit.File()].Data), `"throughput"`, `"throughput_old"`, 1)
	changed := fstest.MapFS{}
	for k, v := range base {
		changed[k] = v
	}
	changed[audit.File()] = &fstest.MapFile{Data: []byte(old)}
	if err := reportschema.Check(changed); !errors.Is(err, reportschema.ErrNotBumped) || !strings.Contains(err.Error(), audit.File()) {
		t.Errorf("Check(changed %s) = %v, want ErrNotBumped naming it", audit.File(), err)
	}
	delete(changed, audit.File())
	if err := reportschema.Check(changed); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Check(without %s) = %v, want it missing", audit.File(), err)
	}
}

// The keys DESIGN.md says scripts rely on ("JSON keys that scripts rely
// on: add more freely, never rename these") are in the schemas, required,
// with the type they have; schema_version is the report's version.
func TestStableKeys(t *testing.T) {
	type key struct{ path, typ string }
	want := map[string][]key{
		"inspect": {{"pass", "boolean"}, {"verdict", "string"}, {"format", "string"}, {"files", "array"}, {"files[].name", "string"}, {"files[].size", "integer"},
			{"tensors[].name", "string"}, {"tensors[].shape", "array"}, {"tensors[].dtype", "string"}, {"tensors[].params", "integer"},
			{"tensors[].bytes", "integer"}, {"tensors[].file", "string"}, {"tensors[].offset", "integer"}, {"tensors[].layer", "integer"},
			{"layers[].layer", "integer"}, {"layers[].params", "integer"}, {"layers[].bytes", "integer"},
			{"totals.tensors", "integer"}, {"totals.params", "integer"}, {"totals.bytes", "integer"}, {"metadata", "object"}},
		"audit": {{"pass", "boolean"}, {"verdict", "string"}, {"params.total", "integer"}, {"params.active", "integer"},
			{"params.predicted_total", "integer"}, {"params.predicted_active", "integer"},
			{"checks[].id", "string"}, {"checks[].pass", "boolean"}, {"checks[].detail", "string"},
			{"findings[].check", "string"}, {"findings[].message", "string"},
			{"coverage.verified", "integer"}, {"coverage.total", "integer"}, {"gate.id", "string"}, {"gate.pass", "boolean"},
			{"memory", "object"}, {"flops", "object"}, {"throughput", "array"}},
		"spotcheck": {{"pass", "boolean"}, {"verdict", "string"}, {"layer", "integer"}, {"tokens", "array"}, {"shape_in", "array"}, {"shape_out", "array"}, {"finite", "boolean"},
			{"experts", "array"}, {"bytes_read", "integer"}, {"max_rel_err", "number"}},
		"verify":     {{"pass", "boolean"}, {"verdict", "string"}, {"files[].name", "string"}, {"files[].status", "string"}, {"findings[].check", "string"}},
		"diff":       {{"pass", "boolean"}, {"verdict", "string"}, {"identical", "boolean"}, {"changed[].name", "string"}},
		"compare":    {{"pass", "boolean"}, {"verdict", "string"}, {"pairs[].role", "string"}},
		"unfinished": {{"verdict", "string"}, {"error", "string"}, {"exit_code", "integer"}},
		"plan": {{"source", "string"}, {"ctx", "integer"}, {"cache_type_k", "string"}, {"cache_type_v", "string"},
			{"kv.total_bytes", "integer"}, {"total_bytes", "integer"}, {"machines[].fits", "boolean"}, {"machines[].devices", "integer"}},
	}
	for _, r := range reportschema.Reports {
		b, err := r.Generate()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		s := schemaDoc{doc}
		root := s.resolve(doc)
		if v := s.prop(root, "schema_version"); v == nil || v["const"] != float64(r.Version) {
			t.Errorf("%s: schema_version %v, want const %d", r.Name, v, r.Version)
		}
		keys, ok := want[r.Name]
		if !ok {
			t.Errorf("%s: no stable keys listed for this report", r.Name)
		}
		for _, k := range keys {
			if got := s.typeAt(root, k.path); got != k.typ {
				t.Errorf("%s: key %s has type %q, want %q (required)", r.Name, k.path, got, k.typ)
			}
		}
	}
}

// schemaDoc walks a generated schema: $ref into $defs, anyOf with null.
type schemaDoc struct{ doc map[string]any }

func (s schemaDoc) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		if ref, ok := m["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/$defs/")
			m, _ = s.doc["$defs"].(map[string]any)[name].(map[string]any)
			continue
		}
		if alts, ok := m["anyOf"].([]any); ok { // T or null
			m, _ = alts[0].(map[string]any)
			continue
		}
		return m
	}
	return nil
}

// prop returns object o's property name, resolved, when it is required.
func (s schemaDoc) prop(o map[string]any, name string) map[string]any {
	req, _ := o["required"].([]any)
	found := false
	for _, r := range req {
		found = found || r == name
	}
	props, _ := o["properties"].(map[string]any)
	if !found || props == nil {
		return nil
	}
	return s.resolve(props[name])
}

// typeAt returns the type at a path such as "files[].name".
func (s schemaDoc) typeAt(o map[string]any, path string) string {
	for part := range strings.SplitSeq(path, ".") {
		name, items := strings.CutSuffix(part, "[]")
		o = s.prop(o, name)
		if o == nil {
			return ""
		}
		if items {
			o = s.resolve(o["items"])
		}
	}
	if o == nil {
		return ""
	}
	t, _ := o["type"].(string)
	return t
}

// The schema libraries serve go generate and the tests: the weightaudit
// binary links neither.
func TestBinaryLinksNoSchemaLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/weightaudit/weightaudit/cmd/weightaudit").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/invopop/") || strings.HasPrefix(dep, "github.com/santhosh-tekuri/") || strings.HasSuffix(dep, "/internal/reportschema") {
			t.Errorf("cmd/weightaudit depends on %s", dep)
		}
	}
}

// Integer types written as names are enumerations in the schema: the
// dead-block kinds of spotcheck/dead.go and the roofline's traffic models
// of cost/cost.go, as those files name them.
func TestTextEnums(t *testing.T) {
	for _, tt := range []struct {
		report, path string
		want         []any
	}{
		{"spotcheck", "dead[].kind", []any{"embedding-zero", "non-finite", "zero", "constant", "same-rows", "pass-through", "router-tied"}},
		{"audit", "throughput[].traffic", []any{"all-weights", "active-weights"}},
	} {
		r, _ := reportschema.Lookup(tt.report)
		b, err := r.Generate()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		s := schemaDoc{doc}
		o := s.resolve(doc)
		parts := strings.Split(tt.path, ".")
		for _, part := range parts {
			name, items := strings.CutSuffix(part, "[]")
			if o = s.prop(o, name); o != nil && items {
				o = s.resolve(o["items"])
			}
		}
		if o == nil {
			t.Fatalf("%s: no key %s", tt.report, tt.path)
		}
		if diff := cmp.Diff(tt.want, o["enum"]); diff != "" {
			t.Errorf("%s %s enum (-want +got):\n%s", tt.report, tt.path, diff)
		}
	}
}
