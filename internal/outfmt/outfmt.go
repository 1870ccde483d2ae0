// Package outfmt is the table of output formats a report type has: each
// row a name, as --format takes it, and the writer; and the JSON document
// a command writes instead of its report when it could not run to its
// end ([Unfinished]).
package outfmt

import (
	"io"
	"strings"
)

// Format is one way to render a report of type R.
type Format[R any] struct {
	Name  string // as --format takes it
	Write func(r R, w io.Writer) error
}

// Table lists a report type's formats, the default first: a new format is
// one row.
type Table[R any] []Format[R]

// Lookup returns the format called name.
func (t Table[R]) Lookup(name string) (Format[R], bool) {
	for _, f := range t {
		if f.Name == name {
			return f, true
		}
	}
	return Format[R]{}, false
}

// Names lists the formats' names in order.
func (t Table[R]) Names() []string {
	names := make([]string, len(t))
	for i, f := range t {
		names[i] = f.Name
	}
	return names
}

// Joined lists the names as a sentence: "table, json, markdown or junit".
func (t Table[R]) Joined() string {
	names := t.Names()
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Unfinished is the JSON document of a command that could not run to its
// end, written when JSON was asked for: verdict "fail" when the artifact
// is at fault (exit 1), "incomplete" when the run could not complete
// (exit 2). Its schema is schema/unfinished.vN.json.
type Unfinished struct {
	SchemaVersion int    `json:"schema_version"` // UnfinishedSchemaVersion
	Pass          bool   `json:"pass"`
	Verdict       string `json:"verdict"`
	Command       string `json:"command"`
	Error         string `json:"error"`
	ExitCode      int    `json:"exit_code"`
}

// UnfinishedSchemaVersion is the version of the JSON Schema of
// [Unfinished] (schema/unfinished.vN.json): bumped whenever its JSON shape
// changes.
const UnfinishedSchemaVersion = 1
