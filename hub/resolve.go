package hub

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupportedSource is returned by [Resolve] for a SOURCE form this build
// does not read yet.
var ErrUnsupportedSource = errors.New("unsupported source")

// Resolve turns a SOURCE as the user typed it into a source and, when it
// names one file, that file's name (see [Local]). Local paths are read
// directly. Remote forms (hf://, oci://, ollama://, https://) are
// recognized and refused with [ErrUnsupportedSource] until remote reading
// lands.
func Resolve(spec string) (src Source, focus string, err error) {
	if spec == "" {
		return nil, "", errors.New("empty source")
	}
	for _, scheme := range []string{"hf://", "oci://", "ollama://", "https://", "http://"} {
		if strings.HasPrefix(spec, scheme) {
			return nil, "", fmt.Errorf("%s: %w: remote %s sources are not implemented yet; download the files and give their local path", spec, ErrUnsupportedSource, strings.TrimSuffix(scheme, "://"))
		}
	}
	return Local(spec)
}
