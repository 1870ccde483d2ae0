package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// badFile is one file of the hostile corpus: a valid small file with one
// thing broken.
type badFile struct {
	name   string   // path relative to testdata/bad
	broken string   // what is wrong, for the EXPECT comment
	expect []string // substrings the error for the file must contain
	data   []byte
	// companion marks a file that only completes a folder case (a part of
	// a split set); it has no EXPECT line of its own.
	companion bool
}

// writeBad writes testdata/bad (dir): every case of safetensorsCases and
// ggufCases, and EXPECT, one `<file>\t<substring>[\t<substring>...]` line
// per case, preceded by a comment saying what is broken; the error for the
// file must contain every substring (typically the field at fault, such as
// `tensor "b"` or `key "general.alignment"`, and the sentinel's text). A
// case whose name contains a slash lies in a folder of files (a split set
// with a part missing); its EXPECT line names the file to inspect.
func writeBad(dir string) error {
	cases := append(safetensorsCases(), ggufCases()...)
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	var expect strings.Builder
	expect.WriteString("# The hostile corpus: written by internal/fixturegen; do not edit.\n")
	expect.WriteString("# Each line: <file>\\t<substring>[\\t<substring>...]: the error for the file must contain every substring.\n")
	expect.WriteString("# Every file must be rejected (exit code 2) with an error naming the file and, for a malformed file,\n")
	expect.WriteString("# the offset of the field at fault.\n")
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			return fmt.Errorf("bad: two cases named %s", c.name)
		}
		seen[c.name] = true
		p := filepath.Join(dir, filepath.FromSlash(c.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			return err
		}
		if c.companion {
			continue
		}
		if len(c.expect) == 0 || c.broken == "" {
			return fmt.Errorf("case %s: no expected error text or description", c.name)
		}
		for _, e := range c.expect {
			if e == "" || strings.ContainsAny(e, "\t\n") {
				return fmt.Errorf("case %s: expected text %q is empty or holds a tab or newline", c.name, e)
			}
		}
		if strings.Contains(c.broken, "\n") {
			return fmt.Errorf("case %s: newline in its description", c.name)
		}
		fmt.Fprintf(&expect, "\n# %s\n%s\t%s\n", c.broken, c.name, strings.Join(c.expect, "\t"))
	}
	return os.WriteFile(filepath.Join(dir, "EXPECT"), []byte(expect.String()), 0o644)
}
