package hub

import (
	"context"
	"io"
)

// The capabilities below are what some sources can do beyond [Source]. A
// caller asks for one with a type assertion on the source, never for a
// concrete type: src.(Digester), not src.(*OCISource).

// Digester is a source that publishes a digest of its files' content, which
// a reader can check the bytes against: a Hub repository's LFS sha256, an
// OCI artifact's layer digests. Implementations are safe for concurrent
// use.
type Digester interface {
	// Digest returns the SHA-256 (lower-case hex) the source publishes
	// for the named file's content, and false for a file it publishes
	// none for, or before the source is listed.
	Digest(name string) (sha256 string, ok bool)
	// DigestSource names where the digests come from, for reports:
	// "Hub LFS sha256", "OCI layer digest".
	DigestSource() string
	// DigestNote says why the named file has no digest of its own when a
	// report should say so (a file inside an OCI tar layer: the layer's
	// digest covers the archive), and "" otherwise.
	DigestNote(name string) string
}

// AlgorithmDigester is a source that publishes, for some files, a digest
// of another algorithm than SHA-256, which [Digester] does not give: an
// OCI layer digest "sha512:…". Implementations are safe for concurrent
// use.
type AlgorithmDigester interface {
	// AlgorithmDigest returns the algorithm ("sha512") and the
	// lower-case hex digest the source publishes for the named file, and
	// false for a file it publishes none for or a SHA-256 one.
	AlgorithmDigest(name string) (algorithm, hex string, ok bool)
}

// GitBlobber is a source that lists the Git blob id of its files not
// covered by a [Digester] sha256: a Hub repository's files not stored
// with Git LFS (config.json, the index). Implementations are safe for
// concurrent use.
type GitBlobber interface {
	// BlobID returns the Git blob id (lower-case hex) of the named file,
	// and false for a file with a sha256 digest, a file the listing gives
	// none for, or before the source is listed.
	BlobID(name string) (id string, ok bool)
}

// LayerStreamer is a source some of whose files can only be read by
// streaming the layer that holds them from its start: the files inside a
// compressed tar layer of an OCI artifact (see [OCISource.StreamedLayer]
// and [OCISource.StreamLayer] for the contract). Implementations are safe
// for concurrent use.
type LayerStreamer interface {
	// StreamedLayer returns the digest of the layer to stream to read the
	// named file, and false for a file read with ReadAt where it is.
	StreamedLayer(name string) (digest string, ok bool)
	// StreamLayer streams the layer once, calling visit for each regular
	// file in archive order, from the calling goroutine, with a reader
	// valid until visit returns, and returns the sha256 (hex) of the
	// layer's bytes; a damaged layer is a *LayerError wrapping
	// ErrBadArchive, with that sha256.
	StreamLayer(ctx context.Context, digest string, visit func(name string, size int64, r io.Reader) error) (sha256hex string, err error)
}

// Mirror is a remote source that can store the files a caller reads from
// it in a local cache, as they are read, so that later runs read them
// from there: a Hub repository's files in the Hugging Face cache, an OCI
// artifact's raw layers in the blob store. Each file is stored only when
// its bytes match the digest the source publishes.
type Mirror interface {
	// Mirror returns a writer into the cache the environment names, read
	// through getenv (nil: os.Getenv). When there is nothing to store it
	// returns a *NotMirroredError saying why (the files are local
	// already, the revision is not pinned to a commit); any other error
	// is a failure to prepare the cache.
	Mirror(getenv func(string) string) (MirrorWriter, error)
}

// MirrorWriter stores the files of one run of a [Mirror] source. Create
// is safe for concurrent use; Finish and Summary are called once each,
// after the last file.
type MirrorWriter interface {
	// Create starts storing the named file, of size bytes: the caller
	// writes its whole content to the returned file, then calls Commit,
	// which checks it against the source's digest and stores it, or
	// Abort. Create returns nil and no error when the cache has the file
	// already, and a *NotMirroredError for a file the cache does not hold
	// by design, which is no failure.
	Create(name string, size int64) (MirrorFile, error)
	// Finish ends the run, recording what the cache needs beside the
	// files (a branch's commit, say).
	Finish() error
	// Summary says in one line what the run stored, as t counts it, and
	// returns an error naming the cache and the files in t.Failed when
	// there are any.
	Summary(t MirrorTally) (string, error)
}

// MirrorFile is a file being stored by a [MirrorWriter]: Write its
// content, then Commit or Abort (which may follow Commit, and then does
// nothing). It is not safe for concurrent use.
type MirrorFile interface {
	io.Writer
	// Commit checks what was written and stores it; nothing is stored
	// when it fails.
	Commit() error
	// Abort discards what was written.
	Abort()
}

// MirrorTally counts the outcomes of a run of a [MirrorWriter], as its
// caller saw them, for [MirrorWriter.Summary].
type MirrorTally struct {
	Stored  int // files committed
	Present int // files the cache had already
	// Skipped counts the files Create refused with a *NotMirroredError:
	// the cache does not hold them by design.
	Skipped int
	// Failed names each other file not stored, with why: "NAME: why".
	Failed []string
}

// NotMirroredError says why a [Mirror] stores nothing (from
// [Mirror.Mirror]) or why a file is not stored (from [MirrorWriter.Create]):
// no failure of the source nor of the cache, only nothing to store.
type NotMirroredError struct {
	// Local is set when the source's files are local already, so that a
	// cache would hold nothing new (an Ollama model read from the local
	// store).
	Local bool
	// Reason says why, as a clause: "it is read from the local Ollama
	// store".
	Reason string
}

// Error returns the reason.
func (e *NotMirroredError) Error() string { return e.Reason }

var (
	_ error = (*NotMirroredError)(nil)

	_ Digester          = (*Dir)(nil)
	_ GitBlobber        = (*Dir)(nil)
	_ Digester          = (*HFSource)(nil)
	_ GitBlobber        = (*HFSource)(nil)
	_ Mirror            = (*HFSource)(nil)
	_ Digester          = (*OCISource)(nil)
	_ LayerStreamer     = (*OCISource)(nil)
	_ AlgorithmDigester = (*OCISource)(nil)
	_ Mirror            = (*OCISource)(nil)

	_ MirrorFile = (*HFCacheFile)(nil)
	_ MirrorFile = (*BlobWriter)(nil)
)
