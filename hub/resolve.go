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
// directly. hf:// SOURCEs and http(s) URLs of the Hugging Face Hub are read
// remotely ([OpenHF]) with the options the environment sets
// ([HFOptionsFromEnv]); no request is made before the source is used.
// oci:// and ollama:// are recognized and refused with
// [ErrUnsupportedSource] until reading them lands.
func Resolve(spec string) (src Source, focus string, err error) {
	if spec == "" {
		return nil, "", errors.New("empty source")
	}
	for _, scheme := range []string{"oci://", "ollama://"} {
		if strings.HasPrefix(spec, scheme) {
			return nil, "", fmt.Errorf("%s: %w: remote %s sources are not implemented yet; download the files and give their local path", spec, ErrUnsupportedSource, strings.TrimSuffix(scheme, "://"))
		}
	}
	for _, scheme := range []string{"hf://", "https://", "http://"} {
		if strings.HasPrefix(spec, scheme) {
			opts, err := HFOptionsFromEnv(nil)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", spec, err)
			}
			s, focus, err := OpenHF(spec, opts)
			if err != nil {
				return nil, "", err // not a typed nil in the interface
			}
			return s, focus, nil
		}
	}
	return Local(spec)
}
