package hub

import (
	"encoding/hex"
	"fmt"
	"hash"
	"os"
)

// tempBlob is content being written to a temporary file and hashed on the
// way, to be renamed into a store once its size and digest are checked:
// the common part of [BlobWriter] and [HFCacheFile]. what names it in
// errors ("blob store: sha256:…", "hf cache: config.json").
type tempBlob struct {
	what string
	tmp  *os.File
	h    hash.Hash
	size int64 // the size it must have
	n    int64 // bytes written
	over bool  // more than size bytes were offered
	done bool  // committed or aborted
}

// Write appends p. Bytes past the size are not written: the write fails,
// and so will the check.
func (t *tempBlob) Write(p []byte) (int, error) {
	if t.done {
		return 0, fmt.Errorf("%s: write after Commit or Abort", t.what)
	}
	if int64(len(p)) > t.size-t.n {
		t.over = true
		return 0, fmt.Errorf("%s: %d bytes at offset %d, past its size %d: %w", t.what, len(p), t.n, t.size, ErrDigestMismatch)
	}
	n, err := t.tmp.Write(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("%s: %w", t.what, err)
	}
	return n, nil
}

// begin starts a Commit: it fails for a second one, and otherwise returns
// the digest of what was written, in hex, or an error wrapping
// ErrDigestMismatch when the size is not the one expected.
func (t *tempBlob) begin() (string, error) {
	if t.done {
		return "", fmt.Errorf("%s: committed or aborted already", t.what)
	}
	t.done = true
	switch {
	case t.over:
		return "", fmt.Errorf("%s: more than its %d bytes were written: %w", t.what, t.size, ErrDigestMismatch)
	case t.n != t.size:
		return "", fmt.Errorf("%s: %d bytes written, its size is %d: %w", t.what, t.n, t.size, ErrDigestMismatch)
	}
	return hex.EncodeToString(t.h.Sum(nil)), nil
}

// seal makes the temporary file readable by all (perm) and durable, and
// closes it, ready to be renamed: a blob's name vouches for its content.
func (t *tempBlob) seal(perm os.FileMode) error {
	if err := t.tmp.Chmod(perm); err != nil {
		return fmt.Errorf("%s: %w", t.what, err)
	}
	if err := t.tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", t.what, err)
	}
	if err := t.tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", t.what, err)
	}
	return nil
}

// discard removes the temporary file.
func (t *tempBlob) discard() {
	t.tmp.Close()
	os.Remove(t.tmp.Name())
}

// Abort discards what was written. It may be called after Commit, and
// then does nothing.
func (t *tempBlob) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.discard()
}
