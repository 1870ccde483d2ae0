package arch

import (
	"reflect"
	"testing"
)

// Six layers, every even one sliding over 16 positions: worked by hand,
// 3 full and 3 sliding layers of 2 KV heads (a key and a value each).
func TestAttentionWindowed(t *testing.T) {
	a := Attention{Heads: 4, KVHeads: 2, HeadDim: 8}.CountLayers(6, func(i int64) int64 {
		if i%2 == 0 {
			return 16
		}
		return 0
	})
	if a.Full != 3 || a.Sliding != 3 || a.Window != 16 {
		t.Fatalf("CountLayers = %d full, %d sliding, window %d; want 3, 3, 16", a.Full, a.Sliding, a.Window)
	}
	if got, want := a.KVCache(), []KVRows{{Rows: 12, Width: 8}, {Rows: 12, Width: 8, Window: 16}}; !reflect.DeepEqual(got, want) {
		t.Errorf("KVCache = %+v, want %+v", got, want)
	}
	// 4·heads·head_dim = 128 FLOPs per layer and attended position.
	for _, c := range []struct{ ctx, want int64 }{{100, 128 * (300 + 48)}, {10, 128 * (30 + 30)}} {
		if got := a.FLOPs(c.ctx); got != c.want {
			t.Errorf("FLOPs(%d) = %d, want %d", c.ctx, got, c.want)
		}
	}
	// No sliding layer: one entry, and no term for a window.
	full := Attention{Heads: 4, KVHeads: 2, HeadDim: 8}.CountLayers(6, func(int64) int64 { return 0 })
	if got, want := full.KVCache(), []KVRows{{Rows: 24, Width: 8}}; !reflect.DeepEqual(got, want) {
		t.Errorf("KVCache (full) = %+v, want %+v", got, want)
	}
	if got := full.FLOPs(1 << 62); got <= 0 {
		t.Errorf("FLOPs saturates to a positive count, got %d", got)
	}
}
