package verify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMerge is wrapped by the errors of [MergeManifests]: parts that are not
// the partial manifests of every shard of one verification, once each.
var ErrMerge = errors.New("cannot merge")

// MergeManifests joins the partial manifests of the shards of one
// checkpoint, as `verify --shard I/N --record` writes them, into the
// manifest an unsharded `verify --record` writes: the same files and
// tensors in the same order, with no shard. names label the parts in
// errors (such as their file names); a missing name is "part K".
//
// Every part must be partial, all must come from the same source, format
// and tool version and carry the same dealing of files to shards, and
// together they must hold each shard exactly once; each part must hold
// exactly the files dealt to its shard. Any other input is refused with an
// error wrapping [ErrMerge] that names the parts and shards at fault. The
// parts are not modified.
func MergeManifests(parts []*Manifest, names []string) (*Manifest, error) {
	label := func(i int) string {
		if i < len(names) && names[i] != "" {
			return names[i]
		}
		return fmt.Sprintf("part %d", i+1)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no manifests given", ErrMerge)
	}
	for i, p := range parts {
		if p == nil || p.Shard == nil {
			return nil, fmt.Errorf("%w: %s is not a partial manifest (it names no shard)", ErrMerge, label(i))
		}
	}
	first := parts[0]
	for i, p := range parts[1:] {
		i++
		what, a, b := "", "", ""
		switch {
		case p.Source != first.Source:
			what, a, b = "source", first.Source, p.Source
		case p.Format != first.Format:
			what, a, b = "format", string(first.Format), string(p.Format)
		case p.Tool != first.Tool:
			what, a, b = "tool", first.Tool, p.Tool
		case p.Version != first.Version:
			what, a, b = "manifest version", fmt.Sprint(first.Version), fmt.Sprint(p.Version)
		case p.Shard.Count != first.Shard.Count:
			what, a, b = "shard count", fmt.Sprint(first.Shard.Count), fmt.Sprint(p.Shard.Count)
		case !slices.Equal(p.Shard.Files, first.Shard.Files):
			what, a, b = "dealing of files to shards", describePlan(first.Shard), describePlan(p.Shard)
		}
		if what != "" {
			return nil, fmt.Errorf("%w: %s and %s are not shards of one verification: %s %q and %q", ErrMerge, label(0), label(i), what, a, b)
		}
	}
	plan := first.Shard
	byShard := make(map[int]int, len(parts)) // shard → part
	for i, p := range parts {
		if j, dup := byShard[p.Shard.Index]; dup {
			return nil, fmt.Errorf("%w: %s and %s both hold shard %s: the shards overlap", ErrMerge, label(j), label(i), p.Shard.Spec())
		}
		byShard[p.Shard.Index] = i
	}
	var missing []string
	for k := 1; k <= plan.Count; k++ {
		if _, ok := byShard[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, plan.Count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: shard(s) %s missing (%d of %d given)", ErrMerge, strings.Join(missing, ", "), len(parts), plan.Count)
	}

	// Each part must hold exactly the files dealt to it, and tensors of
	// those files only.
	files := make([]map[string]ManifestFile, len(parts))
	tensors := make([]map[string][]ManifestTensor, len(parts))
	for i, p := range parts {
		want := p.Shard.Covered()
		got := make([]string, len(p.Files))
		files[i] = make(map[string]ManifestFile, len(p.Files))
		for j, f := range p.Files {
			got[j] = f.Name
			files[i][f.Name] = f
		}
		if !slices.Equal(got, want) {
			return nil, fmt.Errorf("%w: %s (shard %s) holds the files %q, but the shard was dealt %q", ErrMerge, label(i), p.Shard.Spec(), got, want)
		}
		tensors[i] = map[string][]ManifestTensor{}
		for _, t := range p.Tensors {
			if _, ok := files[i][t.File]; !ok {
				return nil, fmt.Errorf("%w: %s (shard %s): tensor %q is in file %q, which is not in the shard", ErrMerge, label(i), p.Shard.Spec(), t.Name, t.File)
			}
			tensors[i][t.File] = append(tensors[i][t.File], t)
		}
	}

	// The files in the plan's order; each file's tensors as its part has
	// them: the order of the unsharded manifest.
	m := &Manifest{Version: first.Version, Tool: first.Tool, Source: first.Source, Format: first.Format,
		Files: make([]ManifestFile, 0, len(plan.Files)), Tensors: []ManifestTensor{}}
	seen := map[string]string{} // tensor → file
	for _, sf := range plan.Files {
		i := byShard[sf.Shard]
		m.Files = append(m.Files, files[i][sf.Name])
		for _, t := range tensors[i][sf.Name] {
			if f, dup := seen[t.Name]; dup {
				return nil, fmt.Errorf("%w: tensor %q is in both %s and %s", ErrMerge, t.Name, f, sf.Name)
			}
			seen[t.Name] = sf.Name
			m.Tensors = append(m.Tensors, t)
		}
	}
	return m, nil
}

// describePlan summarizes a dealing of files for an error message.
func describePlan(p *ShardPlan) string {
	var b strings.Builder
	for i, f := range p.Files {
		if i == 8 {
			fmt.Fprintf(&b, " … (%d files)", len(p.Files))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s→%d", f.Name, f.Shard)
	}
	return b.String()
}
