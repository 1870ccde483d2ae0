package verify

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// MaxShards bounds the count of a [ShardSpec]: 10,000 parts.
const MaxShards = 10000

// ShardSpec names one of Count disjoint parts of the files of a checkpoint,
// as `verify --shard INDEX/COUNT` gives it; Index counts from 1. The zero
// value means the whole checkpoint. Which files fall in which part is
// decided by [AssignShards].
type ShardSpec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// String returns the spec as "INDEX/COUNT", or "" for the zero value.
func (s ShardSpec) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// check returns nil when s is the zero value (no part: the whole) or a
// valid part, else what is wrong with it.
func (s ShardSpec) check() error {
	if s.Index == 0 && s.Count == 0 {
		return nil
	}
	return s.checkPart()
}

// checkPart returns nil when s is a valid part, else what is wrong with it.
func (s ShardSpec) checkPart() error {
	switch {
	case s.Count < 1:
		return errors.New("the count must be at least 1")
	case s.Count > MaxShards:
		return fmt.Errorf("the count is over the limit of %d", MaxShards)
	case s.Index < 1 || s.Index > s.Count:
		return fmt.Errorf("the index must be between 1 and the count, %d", s.Count)
	}
	return nil
}

// ParseShard parses "INDEX/COUNT", two decimal numbers with
// 1 ≤ INDEX ≤ COUNT ≤ [MaxShards], such as "2/8". The error says what is
// wrong, without naming the flag.
func ParseShard(s string) (ShardSpec, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return ShardSpec{}, fmt.Errorf("%q: expected INDEX/COUNT, such as 1/4", s)
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil {
		return ShardSpec{}, fmt.Errorf("%q: expected INDEX/COUNT with two whole numbers, such as 1/4", s)
	}
	spec := ShardSpec{Index: i, Count: n}
	if err := spec.checkPart(); err != nil {
		return ShardSpec{}, fmt.Errorf("%q: %v", s, err)
	}
	return spec, nil
}

// ShardFile is one file of a sharded verification and the part it falls
// in (1 to the count).
type ShardFile struct {
	Name  string `json:"name"`
	Shard int    `json:"shard"`
}

// ShardPlan says which part of a checkpoint a report or a partial manifest
// covers: part Index of Count, and every file of the checkpoint, in the
// order of an unsharded report, with the part it was dealt to. The files
// of part Index are the ones it covers.
type ShardPlan struct {
	Index int         `json:"index"`
	Count int         `json:"count"`
	Files []ShardFile `json:"files"`
}

// Spec returns the part the plan covers.
func (p *ShardPlan) Spec() ShardSpec { return ShardSpec{Index: p.Index, Count: p.Count} }

// Covered returns the names of the files of the part the plan covers, in
// order.
func (p *ShardPlan) Covered() []string {
	out := []string{}
	for _, f := range p.Files {
		if f.Shard == p.Index {
			out = append(out, f.Name)
		}
	}
	return out
}

// AssignShards deals files to n parts so that the parts' bytes are about
// even: the largest file first, files of one size in name order, each to
// the part holding the fewest bytes so far (on a tie, the one holding the
// fewest files, then the lowest-numbered). It returns each file's part, 1 to n, in the order of files. The
// result depends only on the names and sizes, so every machine given the
// same listing deals the same parts. n must be at least 1.
func AssignShards(files []hub.FileInfo, n int) []int {
	out := make([]int, len(files))
	if n < 1 {
		return out
	}
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		fa, fb := files[order[a]], files[order[b]]
		if fa.Size != fb.Size {
			return fa.Size > fb.Size
		}
		return fa.Name < fb.Name
	})
	// Parts past the number of files stay empty: no need to hold them.
	load := make([]int64, min(n, max(len(files), 1)))
	count := make([]int, len(load))
	for _, i := range order {
		best := 0
		for b := 1; b < len(load); b++ {
			if load[b] < load[best] || load[b] == load[best] && count[b] < count[best] {
				best = b
			}
		}
		load[best] = checked.SatAdd(load[best], max(files[i].Size, 0))
		count[best]++
		out[i] = best + 1
	}
	return out
}

// checkpointFiles lists the files [Run] reads of ck, in the order of its
// report: the model files, then the index and config.json when there are.
// The index's size is 0: it is known once the index is opened.
func checkpointFiles(ck *checkpoint.Checkpoint) []hub.FileInfo {
	var out []hub.FileInfo
	seen := map[string]bool{}
	add := func(name string, size int64) {
		if !seen[name] {
			seen[name] = true
			out = append(out, hub.FileInfo{Name: name, Size: size})
		}
	}
	for _, f := range ck.Files {
		add(f.Name, f.Size)
	}
	if ck.IndexName != "" {
		add(ck.IndexName, 0)
	}
	if ck.Config != nil {
		add("config.json", int64(len(ck.Config)))
	}
	return out
}

// ShardFiles returns the files [Run] reads of ck for the part s, every
// file for the zero ShardSpec, in the order of its report, with their
// sizes as loaded (0 for the index, whose size is known once it is
// opened). An invalid s gives none.
func ShardFiles(ck *checkpoint.Checkpoint, s ShardSpec) []hub.FileInfo {
	all := checkpointFiles(ck)
	if s.Count == 0 {
		return all
	}
	if s.check() != nil {
		return nil
	}
	var out []hub.FileInfo
	for i, p := range AssignShards(all, s.Count) {
		if p == s.Index {
			out = append(out, all[i])
		}
	}
	return out
}
