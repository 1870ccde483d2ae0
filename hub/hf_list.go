package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"strings"
)

// The entries of the Hub's answers to the listing calls, as far as they are
// used. The answers are decoded as they arrive, one entry at a time (see
// decodeObject and decodeArray): a listing costs what it keeps, not its
// JSON.
type (
	hfSibling struct { // the models API
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *hfLFS `json:"lfs"`
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
	var (
		commit string
		l      *listing
		sized  bool
	)
	_, _, err = s.getJSON(ctx, u, maxListing, func(dec *json.Decoder) error {
		l = newListing(s.ref.Subfolder)
		var err error
		commit, sized, err = decodeModelInfo(dec, l)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: listing: %w", s, err)
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
		mark := len(l.files)
		hdr, n, err := s.getJSON(ctx, u, budget, func(dec *json.Decoder) error {
			l.truncate(mark) // what a failed try of this page added
			return decodeTreePage(dec, l)
		})
		if err != nil {
			if page > 0 {
				err = fmt.Errorf("page %d: %w", page+1, err)
			}
			return nil, err
		}
		budget -= n
		u = nextLink(hdr.Values("Link"), u, s.ep)
	}
	return l, nil
}

// decodeModelInfo reads the models API's answer from dec into l, one
// sibling at a time, and returns the commit it names ("" when it names
// none) and whether every sibling has a size (when one has none, the
// listing must come from the tree API). Other keys are skipped token by
// token; "sha" and "siblings" (in any case, as encoding/json matches
// them) may not appear twice.
func decodeModelInfo(dec *json.Decoder, l *listing) (commit string, sized bool, _ error) {
	sized = true
	var haveSHA, haveSiblings bool
	err := decodeObject(dec, func(key string) error {
		switch {
		case strings.EqualFold(key, "sha"):
			if haveSHA {
				return fmt.Errorf("key %q twice: %w", key, ErrBadResponse)
			}
			haveSHA = true
			var sha *string
			if err := dec.Decode(&sha); err != nil {
				return err
			}
			if sha != nil && isHex(*sha, 40) {
				commit = strings.ToLower(*sha)
			}
			return nil
		case strings.EqualFold(key, "siblings"):
			if haveSiblings {
				return fmt.Errorf("key %q twice: %w", key, ErrBadResponse)
			}
			haveSiblings = true
			return decodeArray(dec, func() error {
				off := dec.InputOffset()
				var sb hfSibling
				if err := dec.Decode(&sb); err != nil || !sized {
					return err
				}
				var size int64
				sha := ""
				if sb.LFS != nil {
					size, sha = sb.LFS.Size, sb.LFS.SHA256
				}
				if sb.Size != nil {
					size = *sb.Size
				} else if sb.LFS == nil {
					sized = false // not every Hub (or mirror) sends sizes here
					return nil
				}
				return atOffset(off, l.add(sb.RFilename, size, sha, sb.BlobID))
			})
		}
		return skipValue(dec)
	})
	return commit, sized, err
}

// decodeTreePage reads a page of the tree API from dec into l, one entry
// at a time.
func decodeTreePage(dec *json.Decoder, l *listing) error {
	return decodeArray(dec, func() error {
		off := dec.InputOffset()
		var e hfTreeEntry
		if err := dec.Decode(&e); err != nil || e.Type != "file" {
			return err
		}
		size, sha := int64(-1), ""
		if e.Size != nil {
			size = *e.Size
		}
		if e.LFS != nil {
			size, sha = e.LFS.Size, e.LFS.OID
		}
		return atOffset(off, l.add(e.Path, size, sha, e.OID))
	})
}

// atOffset says where in the answer the entry at fault starts (after the
// separator before it), when err is not nil.
func atOffset(off int64, err error) error {
	if err != nil {
		return fmt.Errorf("byte offset %d: %w", off, err)
	}
	return nil
}

// decodeAll runs decode on dec and checks that nothing but whitespace
// follows what it read.
func decodeAll(dec *json.Decoder, decode func(*json.Decoder) error) error {
	if err := decode(dec); err == io.EOF {
		return io.ErrUnexpectedEOF // the answer ended inside the value
	} else if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the top-level value")
	}
	return nil
}

// decodeObject reads a JSON object from dec, calling member with each key
// and dec at its value, which member must read. null reads as an object
// without members.
func decodeObject(dec *json.Decoder, member func(key string) error) error {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("got %s, want an object", tokenKind(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if err := member(tok.(string)); err != nil { // a key is a string
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

// decodeArray reads a JSON array from dec, calling elem with dec at each
// element, which elem must read. null reads as an empty array.
func decodeArray(dec *json.Decoder, elem func() error) error {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("got %s, want an array", tokenKind(tok))
	}
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// skipValue reads the next JSON value from dec, token by token: unlike
// Decode, it never holds the whole value.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// tokenKind names what a JSON token starts, for messages.
func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", rune(tok))
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
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
	files   []FileInfo // in the order added
	entries map[string]hfEntry
}

// truncate forgets the files added after the first n.
func (l *listing) truncate(n int) {
	for _, f := range l.files[n:] {
		delete(l.entries, f.Name)
	}
	l.files = l.files[:n]
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
	if len(l.files) == maxListingFiles {
		return fmt.Errorf("file %q: more than %d files in the listing: %w", name, maxListingFiles, ErrBadResponse)
	}
	e := hfEntry{size: size, blob: parseHexDigest(blob)} // Git object ids: SHA-1 or SHA-256
	if len(sha) == 64 {
		e.sha256 = parseHexDigest(sha)
	}
	l.entries[rel] = e
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
