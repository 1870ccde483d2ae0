package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/termui"
)

// addTerminalFlags adds --color to the root command.
func addTerminalFlags(root *cobra.Command) {
	root.PersistentFlags().String("color", "auto",
		"colour PASS/FAIL in a table: auto (on a terminal, unless $NO_COLOR is set), never, always (even in a pipe or file)")
	root.RegisterFlagCompletionFunc("color", fixedCompletions(termui.ColorModes))
}

// decorateTable returns the writer that fits the lines of cmd's table to
// the terminal's width and colours its verdict words, writing to out;
// stdout is the stream out ends in, asked whether it is a terminal. It
// returns nil, leaving the output as it is, when cmd writes no table to
// stdout (JSON, Markdown, a file given with -o, a merged manifest, dump's
// data) or when there is nothing to decorate: a pipe or file without
// --color=always. A bad --color is a usage error.
func decorateTable(cmd *cobra.Command, out, stdout io.Writer) (*termui.Writer, error) {
	mode := termui.ColorAuto
	if f := cmd.Flags().Lookup("color"); f != nil {
		m, err := termui.ParseColorMode(f.Value.String())
		if err != nil {
			return nil, usageError(cmd, err.Error())
		}
		mode = m
	}
	if !writesTable(cmd) {
		return nil, nil
	}
	width := termui.Width(stdout)
	color := termui.UseColor(stdout, mode, os.Getenv("NO_COLOR"))
	if width == 0 && !color {
		return nil, nil
	}
	return termui.NewWriter(out, width, color), nil
}

// writesTable reports whether cmd writes its report as a table (its
// default, text format) to stdout.
func writesTable(cmd *cobra.Command) bool {
	flag := func(name string) string {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if flag("json") == "true" || flag("merge") == "true" {
		return false
	}
	if o := flag("output"); o != "" && o != "-" {
		return false
	}
	if f := cmd.Flags().Lookup("format"); f != nil {
		return f.Value.String() == "table" || f.Value.String() == "text"
	}
	return false // every command with --json has --format (reportFlags.add)
}

// unknownFlag finds the flag name in pflag's "unknown flag: --NAME".
var unknownFlag = regexp.MustCompile(`^unknown flag: --([^\s=]+)`)

// suggestFlag returns pflag's error about cmd's flags, with the flag the
// user probably meant when it names an unknown one close to a known one:
// "unknown flag: --fromat (did you mean --format?)". Close is what cobra
// takes for a command's name: at most SuggestionsMinimumDistance edits,
// or the known name starting with the typed one.
func suggestFlag(cmd *cobra.Command, err error) string {
	msg := err.Error()
	m := unknownFlag.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	typed := strings.ToLower(m[1])
	best, bestDist := "", cmd.SuggestionsMinimumDistance+1
	if cmd.SuggestionsMinimumDistance <= 0 {
		bestDist = 3 // cobra's default of 2, plus one
	}
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(typed, f.Name)
		if strings.HasPrefix(f.Name, typed) && d > 0 {
			d = 1
		}
		if d < bestDist {
			best, bestDist = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if best == "" {
		return msg
	}
	return fmt.Sprintf("unknown flag: --%s (did you mean --%s?)%s", m[1], best, strings.TrimPrefix(msg, m[0]))
}

// editDistance is the Levenshtein distance of a and b, in bytes (flag
// names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// registerCompletions gives the flags whose values come from a fixed list
// their shell completion, on every command that has them: --builtin (the
// built-in layouts), --hw (the hardware presets, each value after a
// comma too), --kv-type (the KV cache types). --format's formats are
// registered where the command declares them (reportFlags.add).
func registerCompletions(root *cobra.Command) {
	var hw []string
	for _, h := range cost.HardwarePresets() {
		hw = append(hw, strings.ToLower(strings.ReplaceAll(h.Name, " ", "-"))+"\t"+h.Name)
	}
	lists := map[string]cobra.CompletionFunc{
		"builtin": fixedCompletions(synth.BuiltinNames()),
		"hw":      listCompletions(hw),
		"kv-type": fixedCompletions(cost.KVTypes()),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range lists {
			if c.LocalNonPersistentFlags().Lookup(name) != nil {
				c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// fixedCompletions completes a flag's value from values, and nothing else
// (no file names).
func fixedCompletions(values []string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// listCompletions completes the last item of a comma-separated value from
// values ("VALUE\tdescription"), keeping the items typed before it.
func listCompletions(values []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		head := ""
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			head = toComplete[:i+1]
		}
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = head + v
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
