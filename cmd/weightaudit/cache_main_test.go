package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the tests' header cache in a temporary folder: a test
// never reads or fills the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weightaudit-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("WEIGHTAUDIT_CACHE", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
