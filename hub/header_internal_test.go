package hub

import (
	"io"
	"path"
	"strings"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// readModelHeader does what checkpoint.ReadHeader, the [HeaderFunc] the
// command passes, does: a GGUF file's header and tensor infos, a
// safetensors file's length prefix and JSON header, any other file whole.
// The hub knows no format, and its internal tests cannot import checkpoint
// (which imports hub); its tests that stream compressed tar layers of
// model files pass this.
func readModelHeader(name string, r io.ReaderAt, size int64) {
	switch strings.ToLower(path.Ext(name)) {
	case ".gguf":
		gguf.Read(r, size)
	case ".safetensors":
		safetensors.Read(r, size)
	default:
		io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	}
}

// ReadModelHeader is readModelHeader for the black-box tests.
var ReadModelHeader HeaderFunc = readModelHeader
