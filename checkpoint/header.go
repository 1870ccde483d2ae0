package checkpoint

import (
	"io"
	"path"
	"strings"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ReadHeader reads through r as much of the file name (of size bytes) as
// its format's header needs: a GGUF file's header and tensor infos, a
// safetensors file's length prefix and JSON header, any other file whole.
// It is the [hub.HeaderFunc] of sources that keep only the front of some
// files (those inside a compressed tar layer): the hub knows no format. A
// header that does not parse fails again, with its error, when the file is
// loaded.
func ReadHeader(name string, r io.ReaderAt, size int64) {
	switch strings.ToLower(path.Ext(name)) {
	case ".gguf":
		gguf.Read(r, size)
	case ".safetensors":
		safetensors.Read(r, size)
	default:
		// In the reads io.Copy makes, not one buffer of the size the
		// archive claims; a read past what the source keeps ends it.
		io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	}
}
