// Package schema holds the JSON Schema (draft 2020-12) of every JSON
// report weightaudit writes, one file per report and version:
// audit.vN.json, inspect.vN.json, verify.vN.json, diff.vN.json,
// spotcheck.vN.json, compare.vN.json and unfinished.vN.json (the document
// of a command that could not run to its end). A report's schema_version
// key names the file it validates against.
//
// The files are generated from the Go report types (internal/reportschema)
// by go generate and committed; a committed version never changes.
package schema

import "embed"

//go:generate go run ../internal/schemagen -out .

// FS holds the schema files.
//
//go:embed *.json
var FS embed.FS
