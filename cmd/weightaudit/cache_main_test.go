package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the tests' header cache in a temporary folder: a test
// never reads or fills the user's.
func TestMain(m *testing.M) {
	if os.Getenv("WEIGHTAUDIT_TEST_MAIN") == "1" { // run as the command itself (see TestSIGTERM)
		main()
		return
	}
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
