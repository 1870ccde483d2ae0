package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// ManifestVersion is the version of the manifest format [NewManifest]
// writes, stored under the key "weightaudit_manifest" that also identifies
// a manifest by its content.
const ManifestVersion = 1

// MaxManifestBytes bounds the manifests [ParseManifest] reads: 256 MiB,
// room for millions of tensors.
const MaxManifestBytes = 256 << 20

// ErrNotManifest is returned by [ParseManifest] for data that is not a
// JSON object with the "weightaudit_manifest" key: a SOURCE, or some other
// file.
var ErrNotManifest = errors.New("not a weightaudit manifest")

// ErrManifest is wrapped by the errors of [ParseManifest] for a manifest
// that is malformed: an unsupported version, a digest that is not 64 hex
// digits, a negative size, a name given twice.
var ErrManifest = errors.New("invalid manifest")

// ErrPartialManifest is returned where a whole manifest is needed (to
// verify against, to diff) and a partial one is given: the manifest of one
// shard, written by `verify --shard I/N --record`. [MergeManifests] joins
// the partial manifests of every shard into a whole one.
var ErrPartialManifest = errors.New("partial manifest of one shard: merge the manifests of every shard first (verify --merge)")

// Manifest records the digests of a checkpoint's files and tensors, as
// `weightaudit verify --record` writes it; [Run] compares a checkpoint
// with one and [Diff] compares two. Its JSON keys are stable. A Manifest is
// safe for concurrent reads.
type Manifest struct {
	Version int               `json:"weightaudit_manifest"`
	Tool    string            `json:"tool"` // the version of the tool that wrote it, see ToolVersion
	Source  string            `json:"source"`
	Format  checkpoint.Format `json:"format"`
	Files   []ManifestFile    `json:"files"`
	Tensors []ManifestTensor  `json:"tensors"`
	// Shard marks a partial manifest, of the files of one shard of the
	// checkpoint (see [ShardPlan]); nil for a whole one.
	Shard *ShardPlan `json:"shard,omitempty"`

	once    sync.Once
	files   map[string]int
	tensors map[string]int
}

// ManifestFile is one file of a manifest.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ManifestTensor is one tensor of a manifest; Shape is in the format's own
// order, as in [Tensor].
type ManifestTensor struct {
	Name   string  `json:"name"`
	File   string  `json:"file"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Bytes  int64   `json:"bytes"`
	SHA256 string  `json:"sha256,omitempty"` // of the tensor's bytes as stored
}

// ToolCommit is the VCS revision of a build that could not record it in its
// build information (cmd/weightaudit sets it from its -X main.commit, the
// stamp of a build in a linked git worktree); ToolVersion names it when the
// build information has none.
var ToolCommit string

// ToolVersion names this program and its version for manifests:
// "weightaudit v1.2.3", or "weightaudit (devel)" for a build from a work
// tree, with the first 12 digits of its VCS revision when the build
// recorded one or [ToolCommit] is set.
func ToolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "weightaudit (unknown)"
	}
	return toolVersion(bi, ToolCommit)
}

func toolVersion(bi *debug.BuildInfo, ldCommit string) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	if v != "(devel)" {
		return "weightaudit " + v
	}
	rev := ldCommit
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			rev = s.Value
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))]
	}
	return "weightaudit " + v
}

// NewManifest builds the manifest of a verified checkpoint. The report must
// be complete and hold tensor digests ([Options].TensorDigests). The
// manifest of a report of one shard is partial: it holds the shard's files
// and tensors, and the report's Shard.
func NewManifest(r *Report) (*Manifest, error) {
	if r.Incomplete {
		return nil, fmt.Errorf("manifest of %s: the verification is incomplete", r.Source)
	}
	m := &Manifest{Version: ManifestVersion, Tool: ToolVersion(), Source: r.Source, Format: r.Format,
		Files: make([]ManifestFile, 0, len(r.Files)), Tensors: make([]ManifestTensor, 0, len(r.Tensors)), Shard: r.Shard}
	for _, f := range r.Files {
		if f.SHA256 == "" {
			return nil, fmt.Errorf("manifest of %s: file %s has no digest", r.Source, f.Name)
		}
		m.Files = append(m.Files, ManifestFile{Name: f.Name, Size: f.Size, SHA256: f.SHA256})
	}
	for _, t := range r.Tensors {
		if t.SHA256 == "" {
			return nil, fmt.Errorf("manifest of %s: tensor %q has no digest (verify with TensorDigests)", r.Source, t.Name)
		}
		m.Tensors = append(m.Tensors, ManifestTensor{Name: t.Name, File: t.File, DType: t.DType, Shape: t.Shape, Bytes: t.Bytes, SHA256: t.SHA256})
	}
	return m, nil
}

// WriteJSON writes the manifest as indented JSON.
func (m *Manifest) WriteJSON(w io.Writer) error {
	return textfmt.WriteJSON(w, m)
}

// ParseManifest reads a manifest written by [Manifest.WriteJSON]. Data that
// is not a JSON object holding the "weightaudit_manifest" key gives
// [ErrNotManifest]; a malformed manifest gives an error wrapping
// [ErrManifest] that names the entry at fault. Data longer than
// [MaxManifestBytes] is refused. Digests are returned in lower case.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrManifest, len(data), MaxManifestBytes)
	}
	// One pass: the version key is taken raw (the shallower field wins
	// over Manifest.Version), so that a document without it, or not JSON,
	// is no manifest at all, while one with it and bad fields is a bad one.
	m := &Manifest{}
	doc := struct {
		*Manifest
		Version json.RawMessage `json:"weightaudit_manifest"`
	}{Manifest: m}
	err := json.Unmarshal(data, &doc)
	var syntax *json.SyntaxError
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' || errors.As(err, &syntax) || doc.Version == nil {
		return nil, ErrNotManifest
	}
	if err == nil {
		err = json.Unmarshal(doc.Version, &m.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrManifest, m.Version, ManifestVersion)
	}
	files := make(map[string]bool, len(m.Files))
	for i := range m.Files {
		f := &m.Files[i]
		f.SHA256 = strings.ToLower(f.SHA256)
		switch {
		case f.Name == "":
			return nil, fmt.Errorf("%w: files[%d]: empty name", ErrManifest, i)
		case files[f.Name]:
			return nil, fmt.Errorf("%w: files[%d] %q: listed twice", ErrManifest, i, f.Name)
		case f.Size < 0:
			return nil, fmt.Errorf("%w: files[%d] %q: size %d is negative", ErrManifest, i, f.Name, f.Size)
		case !validDigest(f.SHA256):
			return nil, fmt.Errorf("%w: files[%d] %q: sha256 %q is not 64 hex digits", ErrManifest, i, f.Name, clipString(f.SHA256))
		}
		files[f.Name] = true
	}
	tensors := make(map[string]bool, len(m.Tensors))
	for i := range m.Tensors {
		t := &m.Tensors[i]
		t.SHA256 = strings.ToLower(t.SHA256)
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("%w: tensors[%d]: empty name", ErrManifest, i)
		case tensors[t.Name]:
			return nil, fmt.Errorf("%w: tensors[%d] %q: listed twice", ErrManifest, i, t.Name)
		case t.Bytes < 0:
			return nil, fmt.Errorf("%w: tensors[%d] %q: bytes %d is negative", ErrManifest, i, t.Name, t.Bytes)
		case t.SHA256 != "" && !validDigest(t.SHA256):
			return nil, fmt.Errorf("%w: tensors[%d] %q: sha256 %q is not 64 hex digits", ErrManifest, i, t.Name, clipString(t.SHA256))
		}
		for j, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%w: tensors[%d] %q: shape[%d] = %d is negative", ErrManifest, i, t.Name, j, d)
			}
		}
		tensors[t.Name] = true
	}
	if err := m.Shard.validate(); err != nil {
		return nil, fmt.Errorf("%w: shard: %v", ErrManifest, err)
	}
	return m, nil
}

// validate checks a plan read from a manifest: a valid part, and every
// file named once, with a part in range. A nil plan is valid.
func (p *ShardPlan) validate() error {
	if p == nil {
		return nil
	}
	if err := p.Spec().checkPart(); err != nil {
		return fmt.Errorf("%d/%d: %v", p.Index, p.Count, err)
	}
	seen := make(map[string]bool, len(p.Files))
	for i, f := range p.Files {
		switch {
		case f.Name == "":
			return fmt.Errorf("files[%d]: empty name", i)
		case seen[f.Name]:
			return fmt.Errorf("files[%d] %q: listed twice", i, f.Name)
		case f.Shard < 1 || f.Shard > p.Count:
			return fmt.Errorf("files[%d] %q: shard %d is not between 1 and %d", i, f.Name, f.Shard, p.Count)
		}
		seen[f.Name] = true
	}
	return nil
}

func clipString(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (m *Manifest) index() {
	m.once.Do(func() {
		m.files = make(map[string]int, len(m.Files))
		for i, f := range m.Files {
			if _, dup := m.files[f.Name]; !dup {
				m.files[f.Name] = i
			}
		}
		m.tensors = make(map[string]int, len(m.Tensors))
		for i, t := range m.Tensors {
			if _, dup := m.tensors[t.Name]; !dup {
				m.tensors[t.Name] = i
			}
		}
	})
}

func (m *Manifest) file(name string) (ManifestFile, bool) {
	m.index()
	i, ok := m.files[name]
	if !ok {
		return ManifestFile{}, false
	}
	return m.Files[i], true
}

func (m *Manifest) tensor(name string) (ManifestTensor, bool) {
	m.index()
	i, ok := m.tensors[name]
	if !ok {
		return ManifestTensor{}, false
	}
	return m.Tensors[i], true
}

func (m *Manifest) hasTensorDigests() bool {
	for i := range m.Tensors {
		if m.Tensors[i].SHA256 != "" {
			return true
		}
	}
	return false
}
