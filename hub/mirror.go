package hub

import (
	"fmt"
	"strings"
)

// Mirror returns a writer of the source's files into the Hugging Face cache
// the environment names (HF_HUB_CACHE, else HF_HOME/hub, else
// ~/.cache/huggingface/hub; see [HFOptionsFromEnv]), read through getenv
// (nil: os.Getenv), in the snapshot of the commit the files are read at
// ([HFSource.PinnedCommit]); see [HFCacheWriter]. A file is stored when its
// sha256 is its LFS digest, or, for a file not stored with LFS, when its
// Git blob id is the one listed. When the Hub did not name the commit, it
// returns a *[NotMirroredError]. Call it after the source is listed.
func (s *HFSource) Mirror(getenv func(string) string) (MirrorWriter, error) {
	env, err := HFOptionsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	commit := s.PinnedCommit()
	if commit == "" {
		return nil, &NotMirroredError{Reason: fmt.Sprintf("the Hub did not name the commit of %s (offline, or a mirror that leaves it out): nothing is cached", s)}
	}
	w, err := NewHFCacheWriter(env.CacheDir, s.ref, commit)
	if err != nil {
		return nil, err
	}
	return &hfMirror{src: s, w: w, dir: env.CacheDir}, nil
}

// hfMirror stores the files of a Hub source in the Hugging Face cache.
type hfMirror struct {
	src *HFSource
	w   *HFCacheWriter
	dir string // the cache folder
}

func (m *hfMirror) Create(name string, size int64) (MirrorFile, error) {
	sum, _ := m.src.Digest(name)
	f, err := m.w.Create(name, size, sum)
	if err != nil || f == nil {
		return nil, err // not a typed nil in the interface
	}
	if id, ok := m.src.BlobID(name); ok {
		f.ExpectGitBlob(id)
	}
	return f, nil
}

func (m *hfMirror) Finish() error { return m.w.Finish() }

func (m *hfMirror) Summary(t MirrorTally) (string, error) {
	line := fmt.Sprintf("cache %s: stored %d file(s), %d already there, %d not stored", m.w.Snapshot(), t.Stored, t.Present, len(t.Failed))
	if len(t.Failed) > 0 {
		return line, fmt.Errorf("%d file(s) not stored in %s:\n  %s", len(t.Failed), m.dir, strings.Join(t.Failed, "\n  "))
	}
	return line, nil
}

// Mirror returns a writer of the source's raw layers into weightaudit's
// blob store in the folder the environment names ([DefaultBlobStoreDir],
// read through getenv; nil: os.Getenv), whatever OCIOptions.BlobStore is.
// A layer is stored under its digest when its sha256 is that digest (see
// [BlobStore.Create]). The files inside tar layers are not stored: the
// writer's Create refuses them with a *[NotMirroredError]. For a model
// read from the local Ollama store, Mirror returns a *NotMirroredError
// with Local set. Call it after the source is listed.
func (s *OCISource) Mirror(getenv func(string) string) (MirrorWriter, error) {
	if s.FromLocalStore() {
		return nil, &NotMirroredError{Local: true, Reason: "it is read from the local Ollama store"}
	}
	dir, err := DefaultBlobStoreDir(getenv)
	if err != nil {
		return nil, err
	}
	return &blobMirror{src: s, bs: NewBlobStore(dir)}, nil
}

// notRawLayer is why a file of a registry source that is not a raw layer
// with a sha256 digest, in practice a file inside a tar layer, is not
// stored: the blob store holds whole layer blobs, named by their sha256,
// and no digest names such a file alone.
const notRawLayer = "inside a tar layer (or a layer without a sha256 digest): the blob store holds whole layers, by sha256, not the files inside them"

// blobMirror stores the raw layers of a registry source in the blob store.
type blobMirror struct {
	src *OCISource
	bs  *BlobStore
}

// Create writes a raw layer's file to the store under its layer digest
// (the store checks the sha256 again on Commit); a file inside a tar layer
// is refused.
func (m *blobMirror) Create(name string, size int64) (MirrorFile, error) {
	sum, ok := m.src.Digest(name)
	if !ok {
		return nil, &NotMirroredError{Reason: notRawLayer}
	}
	w, err := m.bs.Create("sha256:"+sum, size)
	if err != nil || w == nil {
		return nil, err // not a typed nil in the interface
	}
	return w, nil
}

func (m *blobMirror) Finish() error { return nil }

func (m *blobMirror) Summary(t MirrorTally) (string, error) {
	line := fmt.Sprintf("blob store %s: stored %d layer(s), %d already there, %d not stored", m.bs.Dir(), t.Stored, t.Present, len(t.Failed))
	if t.Skipped > 0 {
		line += fmt.Sprintf("; %d file(s) inside tar layers not stored (the store holds whole raw layers only)", t.Skipped)
	}
	if len(t.Failed) > 0 {
		return line, fmt.Errorf("%d layer(s) not stored in %s:\n  %s", len(t.Failed), m.bs.Dir(), strings.Join(t.Failed, "\n  "))
	}
	return line, nil
}
