//go:build unix

package safefs

import (
	"os"
	"syscall"
)

const (
	// nonBlock opens a named pipe without waiting for a writer.
	nonBlock = syscall.O_NONBLOCK
	// noFollow makes the open fail on a symbolic link.
	noFollow = syscall.O_NOFOLLOW
)

// setBlocking clears O_NONBLOCK on the regular file f: reads of a regular
// file do not heed it, but some network file systems do.
func setBlocking(f *os.File) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := c.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
