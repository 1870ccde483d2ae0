package audit

import (
	"io"
	"strings"
)

// OutputFormat is one way to render a [Report].
type OutputFormat struct {
	Name  string // as --format takes it
	Write func(r *Report, w io.Writer) error
}

// Formats lists the output formats, the default first: a new format is one
// row.
var Formats = []OutputFormat{
	{"table", (*Report).WriteText},
	{"json", (*Report).WriteJSON},
	{"markdown", (*Report).WriteMarkdown},
	{"junit", (*Report).WriteJUnit},
}

// LookupFormat returns the output format called name.
func LookupFormat(name string) (OutputFormat, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return OutputFormat{}, false
}

// FormatNames lists the names of [Formats], joined as "table, json,
// markdown or junit".
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
