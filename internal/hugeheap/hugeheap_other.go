//go:build !linux

package hugeheap

import "os"

var getenv = os.LookupEnv

func advise(addr, n uintptr, collapse bool) {}

func modeAllows() bool { return false }
