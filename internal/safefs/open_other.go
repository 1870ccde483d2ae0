//go:build !unix

package safefs

import "os"

// Systems without named pipes in the file system open files as usual;
// Open's checks of the file's type still apply.
const (
	nonBlock = 0
	noFollow = 0
)

func setBlocking(*os.File) error { return nil }
