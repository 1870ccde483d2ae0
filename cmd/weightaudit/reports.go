package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// reportFlags are the output flags of a command that writes a report:
// --format (and --json, its shorthand), -o FILE for where the report
// goes, and --report FORMAT=PATH, repeatable, for more reports of the
// same run (a JUnit file for the CI, a Markdown summary).
type reportFlags struct {
	format  string
	json    bool
	out     string
	reports []string
}

// add declares the flags on cmd, formats naming the formats the report
// has (the first is the default).
func (rf *reportFlags) add(cmd *cobra.Command, formats []string) {
	f := cmd.Flags()
	f.StringVar(&rf.format, "format", formats[0], "output: "+strings.Join(formats, ", "))
	cmd.RegisterFlagCompletionFunc("format", fixedCompletions(formats))
	f.BoolVar(&rf.json, "json", false, "shorthand for --format json")
	f.StringVarP(&rf.out, "output", "o", "", "write the report to FILE (atomically; - for stdout) instead of stdout")
	f.StringArrayVar(&rf.reports, "report", nil,
		"also write the report as FORMAT to PATH (FORMAT=PATH, repeatable; the file GITHUB_STEP_SUMMARY names is appended to)")
}

// lookupIn finds a format's writer in a report type's table of formats.
func lookupIn[R any](t outfmt.Table[R]) func(string) (func(R, io.Writer) error, bool) {
	return func(name string) (func(R, io.Writer) error, bool) {
		f, ok := t.Lookup(name)
		return f.Write, ok
	}
}

// reportOut is one report to write: its format and where.
type reportOut[R any] struct {
	name  string // the format's
	write func(R, io.Writer) error
	path  string // "" or "-" for stdout
}

// outputs resolves the flags against the command's formats (lookup finds
// a format's writer by name): the main report first, then each
// --report. A bad format or a malformed --report is a usage error.
func outputs[R any](cmd *cobra.Command, rf *reportFlags, lookup func(string) (func(R, io.Writer) error, bool)) ([]reportOut[R], error) {
	if rf.json {
		rf.format = "json"
	}
	main, ok := lookup(rf.format)
	if !ok {
		return nil, usageError(cmd, fmt.Sprintf("--format %q: no such format", rf.format))
	}
	outs := []reportOut[R]{{name: rf.format, write: main, path: rf.out}}
	for _, spec := range rf.reports {
		name, path, ok := strings.Cut(spec, "=")
		w, known := lookup(name)
		if !ok || path == "" || !known {
			return nil, usageError(cmd, fmt.Sprintf("--report %q: want FORMAT=PATH with a known format", spec))
		}
		outs = append(outs, reportOut[R]{name: name, write: w, path: path})
	}
	return outs, nil
}

// writeReports writes r to each output: stdout, a file replaced
// atomically, or GitHub's step summary appended to.
func writeReports[R any](cmd *cobra.Command, outs []reportOut[R], r R) error {
	if w, ok := cmd.Context().Value(reportsWrittenKey{}).(*bool); ok {
		*w = true // the run's reports are out: no unfinished document
	}
	for _, o := range outs {
		write := func(w io.Writer) error { return buffered(w, func(w io.Writer) error { return o.write(r, w) }) }
		var err error
		switch {
		case o.path == "" || o.path == "-":
			err = write(cmd.OutOrStdout())
		case o.path == os.Getenv("GITHUB_STEP_SUMMARY"):
			err = appendTo(o.path, write)
		default:
			err = atomicfile.WriteTarget(o.path, 0o644, write)
		}
		if err != nil {
			where := o.path
			if where == "" || where == "-" {
				where = "to stdout"
			}
			return fmt.Errorf("report %s: %w", where, err)
		}
	}
	return nil
}

// buffered calls write with a buffer in front of w and flushes it, even
// when write fails (w gets what it would have got without the buffer).
// The report writers write cell by cell: inspect --tensors of the 235B
// layout made 518,736 write calls to stdout, each a system call.
func buffered(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// appendTo appends what fill writes to the file at path, as GitHub
// Actions expects of its step summary (other steps write to it too).
func appendTo(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reportsWrittenKey is the context key of the flag [writeReports] sets.
type reportsWrittenKey struct{}

// withReportsWritten returns a context for a run and the flag that says
// whether the command wrote its reports.
func withReportsWritten(ctx context.Context) (context.Context, *bool) {
	w := new(bool)
	return context.WithValue(ctx, reportsWrittenKey{}, w), w
}

// ownUnfinished is the annotation of a command that writes the report of
// a run that could not end itself, in every format (audit: its Unfinished
// report).
const ownUnfinished = "own-unfinished"

// writeUnfinished writes the JSON document of a run of c that stopped with
// err before writing its reports, when the artifact is at fault (exit 1)
// or the run could not complete (exit 2), to where its JSON reports would
// have gone: stdout or -o FILE for --format json (--json), and each
// --report json=PATH. It writes nothing when c asked for no JSON, or
// writes such reports itself.
func writeUnfinished(c *cobra.Command, stdout io.Writer, err error) error {
	var cf *checkFailed
	code := classify(err)
	if c == nil || c.Annotations[ownUnfinished] != "" || errors.As(err, &cf) || (code != exitProblems && code != exitRetry) {
		return nil
	}
	var paths []string
	if f := c.Flags().Lookup("format"); f != nil && f.Value.String() == "json" {
		out, _ := c.Flags().GetString("output")
		paths = append(paths, out)
	} else if f := c.Flags().Lookup("json"); f != nil && f.Value.String() == "true" {
		paths = append(paths, "") // --json without --format (commands without reportFlags)
	}
	if reports, err := c.Flags().GetStringArray("report"); err == nil {
		for _, spec := range reports {
			if name, path, _ := strings.Cut(spec, "="); name == "json" {
				paths = append(paths, path)
			}
		}
	}
	doc := outfmt.Unfinished{SchemaVersion: outfmt.UnfinishedSchemaVersion, Command: c.Name(), Verdict: "incomplete", Error: err.Error(), ExitCode: code}
	if code == exitProblems {
		doc.Verdict = "fail"
	}
	var errs []error
	for _, p := range paths {
		var werr error
		if p == "" || p == "-" {
			werr = textfmt.WriteJSON(stdout, doc)
		} else {
			werr = atomicfile.WriteTarget(p, 0o644, func(w io.Writer) error { return textfmt.WriteJSON(w, doc) })
		}
		if werr != nil {
			errs = append(errs, fmt.Errorf("report %s: %w", p, werr))
		}
	}
	return errors.Join(errs...)
}
