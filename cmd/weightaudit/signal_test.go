package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM (a CI job cancelled, a container stopped) ends a run as SIGINT
// does: verify prints its partial report marked INCOMPLETE and exits 2.
// The test binary runs as the command in a child process.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "verify", "--builtin", "30b-gguf", "--jobs", "1")
	cmd.Env = append(os.Environ(), "WEIGHTAUDIT_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // past loading the headers; reading the 17 GB layout takes far longer
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != exitRetry || !strings.HasPrefix(stdout.String(), "INCOMPLETE  verify") || !strings.Contains(stderr.String(), "stopped before the end") {
		t.Errorf("verify after SIGTERM: exit %d (%v), want %d with a report marked INCOMPLETE\nstdout: %.300s\nstderr: %s", code, err, exitRetry, stdout.String(), stderr.String())
	}
}
