// Command schemagen writes the JSON Schema of every weightaudit JSON
// report, generated from the Go report types by package reportschema, to
// the schema/ folder: NAME.vN.json for the report's current version N.
//
//	go run ./internal/schemagen -out schema
//
// It writes a missing file, leaves an equal one alone, and refuses (exit
// 1) to overwrite a committed version with another schema: a report
// whose JSON shape changed needs its version constant bumped, so that
// documents of the old version still validate against the old file.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/reportschema"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("schemagen: ")
	out := flag.String("out", "schema", "folder to write the schemas to")
	flag.Parse()
	if err := generate(*out); err != nil {
		log.Fatal(err)
	}
}

func generate(dir string) error {
	var errs []error
	for _, r := range reportschema.Reports {
		b, err := r.Generate()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, r.File())
		old, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(old, b):
			continue
		case err == nil:
			errs = append(errs, fmt.Errorf("%s: %w: bump the version constant of %s", path, reportschema.ErrNotBumped, r.Type))
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", path)
	}
	return errors.Join(errs...)
}
