package interrupt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the test binary as a small program when a test starts it
// as a child: one that calls Context, optionally Arm, says "ready" and
// waits for its context.
func TestMain(m *testing.M) {
	if mode := os.Getenv("INTERRUPT_CHILD"); mode != "" {
		child(mode)
		return
	}
	os.Exit(m.Run())
}

func child(mode string) {
	ctx, stop := Context(context.Background())
	defer stop()
	if mode == "armed" {
		Arm()
	}
	fmt.Println("ready")
	select {
	case <-ctx.Done():
		fmt.Println("cancelled:", context.Cause(ctx))
	case <-time.After(30 * time.Second):
		fmt.Println("not cancelled")
	}
}

func TestArmWithoutContext(t *testing.T) {
	Arm()
	if Armed() {
		t.Fatal("Arm without Context caught signals: a library user's program would lose its own handling")
	}
}

func TestArm(t *testing.T) {
	ctx, stop := Context(context.Background())
	if Armed() {
		t.Fatal("armed before Arm")
	}
	Arm()
	if !Armed() {
		t.Fatal("Arm did not arm")
	}
	// Armed: a signal to this process cancels the context instead of
	// ending the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	cause := context.Cause(ctx)
	if !errors.Is(cause, context.Canceled) || !strings.Contains(cause.Error(), "interrupt") {
		t.Errorf("cause = %v, want context.Canceled naming the signal", cause)
	}
	stop()
	if Armed() {
		t.Error("still armed after stop")
	}
	Arm()
	if Armed() {
		t.Error("Arm after stop armed again")
	}
}

func TestStopCancels(t *testing.T) {
	ctx, stop := Context(context.Background())
	stop()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after stop: ctx.Err() = %v, want context.Canceled", ctx.Err())
	}
	// A later run is not stopped by the earlier run's stop.
	ctx2, stop2 := Context(context.Background())
	defer stop2()
	Arm()
	stop()
	if !Armed() || ctx2.Err() != nil {
		t.Errorf("the first run's stop ended the second: armed %v, err %v", Armed(), ctx2.Err())
	}
}

// TestSignalInProcess sends SIGTERM to a child process, armed and not:
// armed, the signal cancels the child's context and it ends normally;
// not armed, it ends the child as the signal's default does.
func TestSignalInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, mode := range []string{"armed", "unarmed"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "INTERRUPT_CHILD="+mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("child said %q, want ready", lines.Text())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for lines.Scan() {
				rest = append(rest, lines.Text())
			}
			cmd.Wait()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			switch mode {
			case "armed":
				if ws.Signaled() || len(rest) != 1 || rest[0] != "cancelled: context canceled by terminated" {
					t.Errorf("armed child: status %v, said %q; want a normal end after \"cancelled: context canceled by terminated\"", ws, rest)
				}
			case "unarmed":
				if !ws.Signaled() || ws.Signal() != syscall.SIGTERM || len(rest) != 0 {
					t.Errorf("unarmed child: status %v, said %q; want it ended by SIGTERM, silent", ws, rest)
				}
			}
		})
	}
}
