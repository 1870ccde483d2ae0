//go:build !linux

package hugeheap

import "os"

var getenv = os.LookupEnv

func advise(addr, n uintptr, collapse bool) {}

// modeAllowed: no transparent huge pages but on Linux.
const modeAllowed = false
