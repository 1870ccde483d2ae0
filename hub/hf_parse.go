package hub

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// ErrBadSource is returned by [ParseHF] (and so by [Resolve]) for a SOURCE
// that does not have the form its scheme calls for; the message says what
// was expected.
var ErrBadSource = errors.New("bad source")

// DefaultHFEndpoint is the Hugging Face Hub's address, used when
// HF_ENDPOINT is not set.
const DefaultHFEndpoint = "https://huggingface.co"

// HFRef names files of a Hugging Face model repository: a repository at a
// revision, a folder in it, and optionally one file of that folder.
type HFRef struct {
	Repo      string // "owner/name"
	Revision  string // a branch, tag or commit; "main" when not given
	Subfolder string // slash-separated folder in the repository; "" for its root
	File      string // a file in Subfolder the SOURCE named, or ""
}

// String returns the ref as an hf:// SOURCE that [ParseHF] reads back:
// hf://owner/name@revision[/subfolder][/file]. A revision holding '/' is
// written escaped (refs%2Fpr%2F1). A File without an extension ParseHF
// takes for a file (.gguf, .safetensors, .json) reads back as a folder.
func (r HFRef) String() string {
	var b strings.Builder
	b.WriteString("hf://")
	b.WriteString(r.Repo)
	b.WriteString("@")
	b.WriteString(url.PathEscape(r.Revision))
	for _, p := range []string{r.Subfolder, r.File} {
		if p != "" {
			b.WriteString("/")
			b.WriteString(escapePath(p))
		}
	}
	return b.String()
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// fileExts are the extensions that make the last segment of an hf://
// SOURCE a file rather than a folder.
var fileExts = []string{".gguf", ".safetensors", ".json"}

const (
	wantHF  = "hf://OWNER/REPO[@REVISION][/SUBFOLDER]"
	wantURL = "%s/OWNER/REPO, %s/OWNER/REPO/tree/REVISION[/SUBFOLDER] or %s/OWNER/REPO/resolve/REVISION/FILE"
)

// ParseHF parses a SOURCE naming files of a Hugging Face model repository.
// The forms are:
//
//	hf://owner/repo                     the repository at main
//	hf://owner/repo@rev                 at a branch, tag or commit
//	hf://owner/repo@rev/sub/folder      a folder (also without @rev)
//	hf://owner/repo@rev/sub/model.gguf  one file (.gguf, .safetensors, .json)
//	ENDPOINT/owner/repo                 a repository page
//	ENDPOINT/owner/repo/tree/rev[/sub]  a revision or folder page
//	ENDPOINT/owner/repo/resolve/rev/path/file   a file's download URL
//	ENDPOINT/owner/repo/blob/rev/path/file      a file's page
//
// where ENDPOINT is the Hub's address (endpoint, or [DefaultHFEndpoint] when
// empty); a URL on another host is an error. A revision holding '/' must be
// escaped: refs%2Fpr%2F1. For a file, Subfolder is the folder holding it
// and File its name, as [Local] does for a local file. Errors wrap
// [ErrBadSource] and say which form was expected.
func ParseHF(spec, endpoint string) (HFRef, error) {
	if endpoint == "" {
		endpoint = DefaultHFEndpoint
	}
	if rest, ok := strings.CutPrefix(spec, "hf://"); ok {
		return parseHFScheme(spec, rest)
	}
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return HFRef{}, err
	}
	return parseHFURL(spec, ep)
}

func badSource(spec, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", spec, ErrBadSource, fmt.Sprintf(format, args...))
}

func parseHFScheme(spec, rest string) (HFRef, error) {
	rest = strings.TrimSuffix(rest, "/")
	segs := strings.Split(rest, "/")
	if len(segs) < 2 {
		return HFRef{}, badSource(spec, "expected %s", wantHF)
	}
	name, rev, hasRev := strings.Cut(segs[1], "@")
	r := HFRef{Revision: "main"}
	if hasRev {
		if rev == "" {
			return HFRef{}, badSource(spec, "expected a revision after '@' (%s)", wantHF)
		}
		var err error
		if r.Revision, err = unescapeRev(rev); err != nil {
			return HFRef{}, badSource(spec, "revision %q: %v", rev, err)
		}
		if r.Revision == "refs" && len(segs) > 2 {
			return HFRef{}, badSource(spec, "revision \"refs\": escape the '/' in a ref such as refs/pr/1 as refs%%2Fpr%%2F1")
		}
	}
	if err := checkRepo(segs[0], name); err != nil {
		return HFRef{}, badSource(spec, "%v (%s)", err, wantHF)
	}
	r.Repo = segs[0] + "/" + name
	sub, err := unescapeSegs(segs[2:])
	if err != nil {
		return HFRef{}, badSource(spec, "%v (%s)", err, wantHF)
	}
	if n := len(sub); n > 0 && hasFileExt(sub[n-1]) {
		r.File = sub[n-1]
		sub = sub[:n-1]
	}
	r.Subfolder = strings.Join(sub, "/")
	return r, nil
}

func hasFileExt(name string) bool {
	for _, e := range fileExts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

func parseEndpoint(endpoint string) (*url.URL, error) {
	ep, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" || ep.RawQuery != "" || ep.Fragment != "" || ep.User != nil {
		return nil, fmt.Errorf("HF_ENDPOINT %q: %w: expected an http or https URL such as %s", endpoint, ErrBadSource, DefaultHFEndpoint)
	}
	return ep, nil
}

func parseHFURL(spec string, ep *url.URL) (HFRef, error) {
	want := fmt.Sprintf(wantURL, ep, ep, ep)
	u, err := url.Parse(spec)
	if err != nil {
		return HFRef{}, badSource(spec, "expected %s", want)
	}
	prefix := strings.TrimSuffix(ep.EscapedPath(), "/") + "/"
	rest, ok := strings.CutPrefix(u.EscapedPath(), prefix)
	if !sameOrigin(u, ep) || u.User != nil || !ok {
		return HFRef{}, badSource(spec, "not a URL of the Hugging Face endpoint %s (set HF_ENDPOINT for another); expected %s", ep, want)
	}
	raw := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(raw) < 2 {
		return HFRef{}, badSource(spec, "expected %s", want)
	}
	segs, err := unescapeSegs(raw[:2])
	if err != nil {
		return HFRef{}, badSource(spec, "%v", err)
	}
	if err := checkRepo(segs[0], segs[1]); err != nil {
		return HFRef{}, badSource(spec, "%v (expected %s)", err, want)
	}
	r := HFRef{Repo: segs[0] + "/" + segs[1], Revision: "main"}
	if len(raw) == 2 {
		return r, nil
	}
	kind := raw[2]
	if kind != "tree" && kind != "resolve" && kind != "blob" {
		return HFRef{}, badSource(spec, "expected /tree/REVISION, /resolve/REVISION/FILE or /blob/REVISION/FILE after the repository, not /%s", kind)
	}
	if len(raw) < 4 || raw[3] == "" {
		return HFRef{}, badSource(spec, "expected a revision after /%s/", kind)
	}
	if r.Revision, err = unescapeRev(raw[3]); err != nil {
		return HFRef{}, badSource(spec, "revision %q: %v", raw[3], err)
	}
	p, err := unescapeSegs(raw[4:])
	if err != nil {
		return HFRef{}, badSource(spec, "%v", err)
	}
	if kind == "tree" {
		r.Subfolder = strings.Join(p, "/")
		return r, nil
	}
	if len(p) == 0 {
		return HFRef{}, badSource(spec, "expected a file after /%s/%s/", kind, raw[3])
	}
	r.Subfolder, r.File = strings.Join(p[:len(p)-1], "/"), p[len(p)-1]
	return r, nil
}

// checkRepo checks an owner and a repository name as the Hub allows them:
// letters, digits, '-', '_' and '.', at most 96 characters, not '.' or '..'.
func checkRepo(owner, name string) error {
	switch owner {
	case "datasets", "spaces":
		return fmt.Errorf("%s repositories are not supported, only models", strings.TrimSuffix(owner, "s"))
	}
	for _, s := range []struct{ what, v string }{{"owner", owner}, {"repository name", name}} {
		if s.v == "" {
			return fmt.Errorf("empty %s", s.what)
		}
		if len(s.v) > 96 || s.v == "." || s.v == ".." || strings.Trim(s.v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			return fmt.Errorf("%s %q: expected letters, digits, '-', '_' and '.'", s.what, s.v)
		}
	}
	return nil
}

// unescapeSegs unescapes path segments; each must be a plain name.
func unescapeSegs(raw []string) ([]string, error) {
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("path segment %q: %v", s, err)
		}
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\\x00") {
			return nil, fmt.Errorf("path segment %q: expected a file or folder name", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func unescapeRev(s string) (string, error) {
	v, err := url.PathUnescape(s)
	if err != nil {
		return "", err
	}
	if v == "" || strings.ContainsAny(v, "\x00\n\r") || path.Clean("/"+v) != "/"+v {
		return "", errors.New("expected a branch, tag or commit (escape '/' as %2F)")
	}
	return v, nil
}
