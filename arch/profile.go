package arch

import (
	"regexp"
	"strings"
)

// Profile is a published model a family recognizes: its name, size label
// and the ranges the contract requires of its parameter counts.
type Profile struct {
	Name  string // e.g. "Qwen3-235B-A22B"
	Label string // the size label, e.g. "235B-A22B"
	// Total and Active are the closed ranges the total and active
	// parameter obligations require of the counts.
	Total, Active [2]int64
}

// Recognition is how a checkpoint relates to a family's known profiles.
type Recognition struct {
	Profile    *Profile // nil when no profile applies
	ByDims     *Profile // the profile whose structural dimensions the spec has
	Label      string   // the size label found, if any
	LabelWhere string
	// Conflicts name each field that contradicts the profile, and a label
	// that contradicts the dimensions.
	Conflicts []Conflict
}

// Conflict is one contradiction of a profile or of another source of the
// same configuration, or one problem of a configuration file (a key given
// twice, a value the model cannot run with).
type Conflict struct {
	Field   string // the config field, "" for a label that names another profile
	Message string
	// File names the file at fault, when one is: "config.json", or the
	// GGUF file whose metadata says it. [FromCheckpoint] sets it.
	File string
}

// moeLabel matches a mixture-of-experts size label such as "235B-A22B" or
// "30b_a3b".
var moeLabel = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)B[-_]A(\d+(?:\.\d+)?)B`)

// FindMoELabel returns the first mixture-of-experts size label
// ("235B-A22B") in any of names (a GGUF general.name or size_label, a
// repository id, a folder or file name), normalized to upper case, and
// where it was found; "" when none has one.
func FindMoELabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := moeLabel.FindStringSubmatch(n); m != nil {
			return strings.ToUpper(m[1]) + "B-A" + strings.ToUpper(m[2]) + "B", n
		}
	}
	return "", ""
}
