package arch_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// A family lists its GGUF metadata keys once, with the config field each
// carries; the same table writes a synthesized file's keys and reads a
// file's back, with what llama.cpp assumes for an absent one.
func ExampleGGUFKeys() {
	type config struct {
		Layers, Heads, KVHeads int64
		RopeTheta              float64
	}
	keys := arch.GGUFKeys[config]{
		{Key: "block_count", Field: "num_hidden_layers", Int: func(c *config) *int64 { return &c.Layers }, Required: true},
		{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *config) *int64 { return &c.Heads }, Required: true},
		{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *config) *int64 { return &c.KVHeads },
			Fallback: func(c *config) int64 { return c.Heads }},
		{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *config) *float64 { return &c.RopeTheta }, Default: 10000},
	}
	kvs := keys.Write("demo", &config{Layers: 2, Heads: 4, KVHeads: 2, RopeTheta: 1e6}, false)
	for _, kv := range kvs {
		fmt.Println(kv.Key)
	}

	// A file without head_count_kv and rope.freq_base.
	m := &arch.GGUFMeta{Arch: "demo", Parts: []*gguf.File{{KVs: kvs[:2]}}}
	var c config
	src, err := keys.Read(m, &c, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v, kv heads absent: %v\n", c, src.Absent("num_key_value_heads"))
	// Output:
	// demo.block_count
	// demo.attention.head_count
	// demo.attention.head_count_kv
	// demo.rope.freq_base
	// {Layers:2 Heads:4 KVHeads:4 RopeTheta:10000}, kv heads absent: true
}
