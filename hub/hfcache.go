package hub

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// hfCacheDir returns the Hugging Face hub cache folder as huggingface_hub
// finds it: HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub; "" when
// none can be named.
func hfCacheDir(getenv func(string) string) string {
	if c := getenv("HF_HUB_CACHE"); c != "" {
		return c
	}
	if h := getenv("HF_HOME"); h != "" {
		return filepath.Join(h, "hub")
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "huggingface", "hub")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "huggingface", "hub")
	}
	return ""
}

// cachedSnapshot returns the folder of ref's revision (and subfolder) in
// the cache: models--OWNER--NAME/snapshots/COMMIT, the commit being the
// revision itself when it is a commit hash, else what refs/REVISION holds.
// It returns "" when the cache has no such folder.
func (o *HFOptions) cachedSnapshot(ref HFRef) string {
	if o.CacheDir == "" {
		return ""
	}
	owner, name, ok := strings.Cut(ref.Repo, "/")
	if !ok {
		return ""
	}
	repo := filepath.Join(o.CacheDir, "models--"+owner+"--"+name)
	rev := ref.Revision
	if rev == "" {
		rev = "main"
	}
	commit := rev
	if !isHex(rev, 40) {
		f, _, err := safefs.Open(filepath.Join(repo, "refs", filepath.FromSlash(rev))) // a regular file, never a FIFO
		if err != nil {
			return ""
		}
		b, err := io.ReadAll(io.LimitReader(f, 4<<10))
		f.Close()
		if err != nil {
			return ""
		}
		commit = strings.TrimSpace(string(b))
		if !isHex(commit, 40) {
			return ""
		}
	}
	dir := filepath.Join(repo, "snapshots", commit, filepath.FromSlash(ref.Subfolder))
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return ""
	}
	return dir
}
