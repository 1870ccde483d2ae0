package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// The local Ollama store, as Ollama lays it out (its envconfig.Models and
// manifest/paths.go): OLLAMA_MODELS, by default ~/.ollama/models, holds
// manifests/HOST/NAMESPACE/MODEL/TAG, each an image manifest in JSON, and
// blobs/sha256-HEX, each a layer (or config) named by its digest with the
// colon turned into a dash.

// ErrBadStore is returned (wrapped) by [OCISource.List] and
// [OCISource.Open] when the local Ollama store holds the model's manifest
// but cannot serve the model: the manifest is unreadable, malformed or
// not a regular file (a folder, a named pipe), or the blob of a model
// layer is missing, is not a regular file or is not the size the manifest
// gives. The message names the manifest and the blob's path. The source
// never falls back to the registry in that case: the store is what the user
// has, and a silent download would hide that it is damaged.
var ErrBadStore = errors.New("local Ollama store")

// maxStoreManifest caps the bytes of a manifest read from the local store:
// the cap a registry's manifest has, since the store keeps what was
// pulled.
const maxStoreManifest = maxManifest

// OllamaModelsDir returns the local Ollama store's folder as Ollama finds
// it, reading the environment through getenv (os.Getenv when nil):
// OLLAMA_MODELS when set, else $HOME/.ollama/models (%USERPROFILE% on
// Windows when HOME is unset), else "" (no store).
func OllamaModelsDir(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("OLLAMA_MODELS"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".ollama", "models")
}

// storeManifestPath returns where the store at dir keeps the manifest of
// HOST/NAMESPACE/MODEL:TAG, or "" when a part could not be a folder name
// (a digest reference has no tag: the store does not key manifests by
// digest).
func storeManifestPath(dir, host, ns, model, tag string) string {
	if dir == "" {
		return ""
	}
	for _, p := range []string{host, ns, model, tag} {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `/\`+"\x00") {
			return ""
		}
	}
	return filepath.Join(dir, "manifests", host, ns, model, tag)
}

// storeBlobPath returns the path of the blob with digest d in the store
// at dir. d is a checked sha256 digest (see parseStoreManifest), so the
// name stays inside the blobs folder.
func storeBlobPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, "blobs", d.Algorithm+"-"+d.Hex)
}

// findStoreManifest reports whether the store has a manifest at p (a
// symbolic link to one counts). A missing store, or a missing manifest,
// is no error: the model is read from the registry. A manifest that may
// be there but cannot be looked at (a folder without permission), or that
// is not a regular file (a folder, a named pipe, a device), is an error
// wrapping [ErrBadStore], so that the registry is not used behind the
// user's back.
func findStoreManifest(p string) (bool, error) {
	if p == "" {
		return false, nil
	}
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%w: manifest %s: %w", ErrBadStore, p, err)
	case !info.Mode().IsRegular():
		return false, fmt.Errorf("%w: manifest %s is %s, %w", ErrBadStore, p, safefs.Kind(info.Mode()), safefs.ErrNotRegular)
	}
	return true, nil
}

// readStoreManifest reads and parses the manifest file at p, which must
// be a regular file (see [safefs.Open]: a named pipe put in its place
// does not block).
func readStoreManifest(p string) (*v1.Manifest, error) {
	f, _, err := safefs.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", ErrBadStore, p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStoreManifest+1))
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", ErrBadStore, p, err)
	}
	m, err := parseStoreManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", ErrBadStore, p, err)
	}
	return m, nil
}

// parseStoreManifest parses a manifest of the local Ollama store. It is
// the JSON a registry serves for the model (Ollama writes the bytes it
// pulled), so it is read into the same [v1.Manifest] the registry's
// manifest is, and then checked: no more layers than a registry's
// manifest may have, no negative size, and a sha256 digest on every layer
// of a model media type (its blob's file name comes from it). An image
// index is refused: the store holds manifests only.
func parseStoreManifest(data []byte) (*v1.Manifest, error) {
	if len(data) > maxStoreManifest {
		return nil, fmt.Errorf("over %d bytes", maxStoreManifest)
	}
	var m v1.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if m.MediaType.IsIndex() {
		return nil, fmt.Errorf("media type %s: an image index, not a manifest", m.MediaType)
	}
	if len(m.Layers) > maxOCILayers {
		return nil, fmt.Errorf("%d layers, over the limit of %d", len(m.Layers), maxOCILayers)
	}
	for i, l := range m.Layers {
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %d (%s): negative size %d", i, l.Digest, l.Size)
		}
		if kindOf(string(l.MediaType)) != kindNone && (l.Digest.Algorithm != "sha256" || len(l.Digest.Hex) != 64) {
			return nil, fmt.Errorf("layer %d (%s): digest %q: want sha256:HEX", i, l.MediaType, l.Digest)
		}
	}
	return &m, nil
}

// openStoreBlob opens the blob at p read-only, checking that it is a
// regular file (a named pipe or a device in its place is refused without
// blocking, see [safefs.Open]) of size bytes; manifest names the manifest
// for messages.
func openStoreBlob(p string, size int64, manifest string) (*osFile, error) {
	f, info, err := safefs.Open(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: blob %s of manifest %s is missing: %w", ErrBadStore, p, manifest, err)
	case err != nil:
		return nil, fmt.Errorf("%w: blob %s of manifest %s: %w", ErrBadStore, p, manifest, err)
	case info.Size() != size:
		f.Close()
		return nil, fmt.Errorf("%w: blob %s is %d bytes, but manifest %s says %d", ErrBadStore, p, info.Size(), manifest, size)
	}
	return &osFile{File: f, size: size}, nil
}
