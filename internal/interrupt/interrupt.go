// Package interrupt turns SIGINT and SIGTERM into the cancellation of a
// run's context, so that the command marks its reports incomplete and
// exits 2 instead of dying with a temporary file left behind.
//
// Catching a signal costs the Go runtime two threads, started on the
// first signal.Notify: one keeps the signal masks, one waits for signals.
// In a run that lasts 20 ms (a GGUF header, `version`) that is 1 to 2 ms
// of the process's time on a small VM. So catching starts only when a
// run can be interrupted on purpose or leave something behind: at the
// first [Arm], which atomicfile.CreateTemp calls (every temporary file of
// the atomic writer and the caches is made there), a progress bar when it
// is first drawn, and the command before it reads tensor data or goes to
// the network. (A timer that armed after a grace period would cost a
// thread of its own: the runtime starts one to watch it.) A signal before
// that ends the process as it does during the Go runtime's start-up,
// before main: with nothing written.
//
// Only a program that calls [Context] catches signals; [Arm] alone does
// nothing, so a program using weightaudit's packages keeps its own
// signal handling.
package interrupt

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signals are the signals that cancel a run.
var signals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// run is a context that signals cancel, from Context to its stop.
type run struct {
	cancel  context.CancelCauseFunc
	caught  chan os.Signal // non-nil once armed
	stopped chan struct{}  // closed by stop: ends the goroutine waiting for a signal
}

var (
	mu      sync.Mutex
	current *run // nil before Context and after its stop
)

// Context returns a context that SIGINT or SIGTERM cancels, once [Arm]
// has been called, with a cause that wraps [context.Canceled] and names
// the signal. stop stops catching, cancels the context and releases its
// resources. The command's main calls it once; a second call stops the
// first run's catching.
func Context(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	r := &run{cancel: cancel, stopped: make(chan struct{})}
	mu.Lock()
	if current != nil {
		current.stop()
	}
	current = r
	mu.Unlock()
	return ctx, func() {
		mu.Lock()
		if current == r {
			r.stop()
			current = nil
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}

// stop stops catching signals for r; mu is held.
func (r *run) stop() {
	if r.caught != nil {
		signal.Stop(r.caught)
	}
	close(r.stopped)
}

// Arm starts catching SIGINT and SIGTERM now, if [Context] was called
// and its stop was not; it does nothing otherwise, and when already
// armed. Call it before creating a file that a signal must not leave
// behind.
func Arm() {
	mu.Lock()
	defer mu.Unlock()
	r := current
	if r == nil || r.caught != nil {
		return
	}
	r.caught = make(chan os.Signal, 1)
	signal.Notify(r.caught, signals...)
	go func() {
		select {
		case sig := <-r.caught:
			r.cancel(fmt.Errorf("%w by %v", context.Canceled, sig))
		case <-r.stopped:
		}
	}()
}

// Armed reports whether signals are being caught.
func Armed() bool {
	mu.Lock()
	defer mu.Unlock()
	return current != nil && current.caught != nil
}
