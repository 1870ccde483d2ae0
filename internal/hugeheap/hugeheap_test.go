package hugeheap

import "testing"

func TestDisabled(t *testing.T) {
	for _, tt := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"disablethp=1", true},
		{"gctrace=1,disablethp=1", true},
		{"disablethp=1,gctrace=1", true},
		{"disablethp=0", false},
		{"disablethp=10", false},
		{"xdisablethp=1", false},
	} {
		t.Setenv("GODEBUG", tt.godebug)
		if got := disabled(); got != tt.want {
			t.Errorf("GODEBUG=%q: disabled() = %v, want %v", tt.godebug, got, tt.want)
		}
	}
}
