package hub

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
)

// The Hub's answers to the listing calls, as far as they are used.
type (
	hfModelInfo struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      *int64 `json:"size"`
			BlobID    string `json:"blobId"`
			LFS       *hfLFS `json:"lfs"`
		} `json:"siblings"`
	}
	hfLFS struct {
		SHA256 string `json:"sha256"` // the models API
		OID    string `json:"oid"`    // the tree API
		Size   int64  `json:"size"`
	}
	hfTreeEntry struct {
		Type string `json:"type"`
		Path string `json:"path"`
		OID  string `json:"oid"` // the Git blob id
		Size *int64 `json:"size"`
		LFS  *hfLFS `json:"lfs"`
	}
)

// list lists the files once: GET /api/models/REPO/revision/REV?blobs=true,
// and when that leaves sizes out, the tree API.
func (s *HFSource) list(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listed {
		return nil
	}
	u, err := s.url("blobs=true", "api/models", s.ref.Repo, "revision", url.PathEscape(s.ref.Revision))
	if err != nil {
		return err
	}
	var info hfModelInfo
	if _, _, err := s.getJSON(ctx, u, maxListing, &info); err != nil {
		return fmt.Errorf("%s: listing: %w", s, err)
	}
	commit := ""
	if isHex(info.SHA, 40) {
		commit = strings.ToLower(info.SHA)
	}
	l := newListing(s.ref.Subfolder)
	sized := true
	for _, sb := range info.Siblings {
		var size int64
		sha := ""
		if sb.LFS != nil {
			size, sha = sb.LFS.Size, sb.LFS.SHA256
		}
		if sb.Size != nil {
			size = *sb.Size
		} else if sb.LFS == nil {
			sized = false // not every Hub (or mirror) sends sizes here
			break
		}
		if err := l.add(sb.RFilename, size, sha, sb.BlobID); err != nil {
			return fmt.Errorf("%s: listing: GET %s: %w", s, redact(u), err)
		}
	}
	if !sized {
		rev := s.ref.Revision
		if commit != "" {
			rev = commit
		}
		if l, err = s.listTree(ctx, rev); err != nil {
			return fmt.Errorf("%s: listing: %w", s, err)
		}
	}
	s.commit, s.files, s.entries, s.listed = commit, l.files, l.entries, true
	slices.SortFunc(s.files, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// listTree lists the folder with the tree API, following its pages: at
// most maxListingPages of them, each at a link not followed before.
func (s *HFSource) listTree(ctx context.Context, rev string) (*listing, error) {
	elems := []string{"api/models", s.ref.Repo, "tree", url.PathEscape(rev)}
	if s.ref.Subfolder != "" {
		elems = append(elems, escapePath(s.ref.Subfolder))
	}
	u, err := s.url("recursive=true", elems...)
	if err != nil {
		return nil, err
	}
	l := newListing(s.ref.Subfolder)
	budget := int64(maxListing)
	seen := map[string]bool{}
	for page := 0; u != nil; page++ {
		if page == maxListingPages {
			return nil, fmt.Errorf("GET %s: more than %d pages: %w", redact(u), maxListingPages, ErrBadResponse)
		}
		if seen[u.String()] {
			link := *u
			link.User = nil
			return nil, fmt.Errorf("page %d: the next link %s was listed before (a loop): %w", page+1, &link, ErrBadResponse)
		}
		seen[u.String()] = true
		var entries []hfTreeEntry
		hdr, n, err := s.getJSON(ctx, u, budget, &entries)
		if err != nil {
			if page > 0 {
				err = fmt.Errorf("page %d: %w", page+1, err)
			}
			return nil, err
		}
		budget -= n
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			size, sha := int64(-1), ""
			if e.Size != nil {
				size = *e.Size
			}
			if e.LFS != nil {
				size, sha = e.LFS.Size, e.LFS.OID
			}
			if err := l.add(e.Path, size, sha, e.OID); err != nil {
				return nil, fmt.Errorf("GET %s: %w", redact(u), err)
			}
		}
		u = nextLink(hdr.Values("Link"), u, s.ep)
	}
	return l, nil
}

// nextLink returns the rel="next" target of Link headers, when it is on the
// endpoint's origin.
func nextLink(links []string, base, ep *url.URL) *url.URL {
	for _, h := range links {
		for _, part := range strings.Split(h, ",") {
			target, params, ok := strings.Cut(part, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			next := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					next = true
				}
			}
			if !next {
				continue
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil || !sameOrigin(u, ep) {
				return nil
			}
			return u
		}
	}
	return nil
}

// listing collects the files under a folder from listing entries.
type listing struct {
	sub     string
	files   []FileInfo
	entries map[string]hfEntry
}

func newListing(sub string) *listing {
	return &listing{sub: sub, entries: map[string]hfEntry{}}
}

// add records one repository path; paths outside the folder and hidden ones
// are skipped. A path or size no repository can have is an error.
func (l *listing) add(name string, size int64, sha, blob string) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("file name %q: %w", name, ErrBadResponse)
	}
	if size < 0 {
		return fmt.Errorf("file %q: size %d: %w", name, size, ErrBadResponse)
	}
	rel := name
	if l.sub != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(name, l.sub+"/"); !ok {
			return nil
		}
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil
		}
	}
	if _, dup := l.entries[rel]; dup {
		return fmt.Errorf("file %q listed twice: %w", name, ErrBadResponse)
	}
	if !isHex(sha, 64) {
		sha = ""
	}
	if !isHex(blob, 40) && !isHex(blob, 64) { // SHA-1 or SHA-256 Git object ids
		blob = ""
	}
	l.entries[rel] = hfEntry{size: size, sha256: strings.ToLower(sha), blob: strings.ToLower(blob)}
	l.files = append(l.files, FileInfo{Name: rel, Size: size})
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
