package arch

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
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
var moeLabel = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)B[-_]A(\d+(?:\.\d+)?)B`)
})

// FindMoELabel returns the first mixture-of-experts size label
// ("235B-A22B") in any of names (a GGUF general.name or size_label, a
// repository id, a folder or file name), normalized to upper case, and
// where it was found; "" when none has one.
func FindMoELabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := moeLabel().FindStringSubmatch(n); m != nil {
			return strings.ToUpper(m[1]) + "B-A" + strings.ToUpper(m[2]) + "B", n
		}
	}
	return "", ""
}

// MatchProfiles recognizes c, a config of a family with fields fs, among
// the family's published profiles ps, for a family whose size label
// names one profile: label is the label found in the checkpoint's names
// (where, the name it was in), "" when none. of returns a profile's
// [Profile], its published config, and whether label is its label.
//
// A profile applies when c has its structural dimensions (the last such
// in ps) or, failing that, when label is its label (the last such); every
// field compared with profiles that then differs from the profile's config
// is a conflict, as is a label naming another profile than the
// dimensions do.
func MatchProfiles[C, P any](fs Fields[C], c *C, label, where string, ps []P, of func(p *P) (*Profile, *C, bool)) Recognition {
	r := Recognition{Label: label, LabelWhere: where}
	var byLabel, byDims *Profile
	var labelCfg, dimsCfg *C
	for i := range ps {
		p, pc, labeled := of(&ps[i])
		if label != "" && labeled {
			byLabel, labelCfg = p, pc
		}
		if fs.SameStructure(c, pc) {
			byDims, dimsCfg = p, pc
		}
	}
	switch {
	case byDims != nil:
		r.Profile, r.ByDims = byDims, byDims
		if label != "" && byLabel != byDims {
			r.Conflicts = append(r.Conflicts, Conflict{Message: fmt.Sprintf("the name %q says %s but the dimensions are those of %s", where, label, byDims.Name)})
		}
		r.Conflicts = append(r.Conflicts, fs.ProfileConflicts(c, dimsCfg, byDims.Name)...)
	case byLabel != nil:
		r.Profile = byLabel
		r.Conflicts = append(r.Conflicts, fs.ProfileConflicts(c, labelCfg, byLabel.Name)...)
	}
	return r
}

// Published is a published model of a family whose config is C: its
// [Profile] and its reference configuration. A family's profile is one,
// or embeds one beside the other names the model goes by.
type Published[C any] struct {
	Profile
	Config *C
}

// Recognize is [MatchProfiles] over a family's published models ps, each
// named by its own size label: label, found in the name where ("" when no
// name has one), names the profile whose Label it is, ignoring case.
func Recognize[C any](fs Fields[C], c *C, label, where string, ps []Published[C]) Recognition {
	return MatchProfiles(fs, c, label, where, ps, func(p *Published[C]) (*Profile, *C, bool) {
		return &p.Profile, p.Config, strings.EqualFold(p.Label, label)
	})
}
