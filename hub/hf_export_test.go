package hub

import (
	"context"
	"time"
)

// SetSleepForTest replaces the wait between retries, so tests can record
// the waits instead of sleeping them.
func SetSleepForTest(o *HFOptions, sleep func(context.Context, time.Duration) error) {
	o.sleep = sleep
}

// SetProbeWaitForTest sets the longest a file's first fetch waits for the
// probe of its kind.
func SetProbeWaitForTest(o *HFOptions, d time.Duration) {
	o.probeWait = d
}
