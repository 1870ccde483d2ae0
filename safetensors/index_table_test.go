package safetensors_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/safetensors"
)

// TestIndexTable: the weight_map answers as the map it was made from, for
// sizes that make the table grow and names that share long prefixes.
func TestIndexTable(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			wm := map[string]string{}
			for i := range n {
				wm[fmt.Sprintf("model.layers.%d.mlp.experts.%d.down_proj.weight", i/384, i%384)] = fmt.Sprintf("model-%05d.safetensors", i/300)
			}
			ix := safetensors.NewIndex(wm)
			check := func(t *testing.T, ix *safetensors.Index) {
				if ix.Len() != n {
					t.Errorf("Len() = %d, want %d", ix.Len(), n)
				}
				if diff := cmp.Diff(wm, maps.Collect(ix.All())); diff != "" {
					t.Errorf("All() mismatch (-want +got):\n%s", diff)
				}
				for name, want := range wm {
					if got, ok := ix.Shard(name); !ok || got != want {
						t.Fatalf("Shard(%q) = %q, %v; want %q, true", name, got, ok, want)
					}
					if got, ok := ix.Shard(name + "x"); ok {
						t.Fatalf("Shard(%q) = %q, true; want absent", name+"x", got)
					}
				}
				if got, ok := ix.Shard(""); ok {
					t.Errorf("Shard(\"\") = %q, true; want absent", got)
				}
			}
			check(t, ix)
			// The same map as a document, its entries as short as the size
			// hint allows (so the table grows as they arrive).
			var doc strings.Builder
			doc.WriteString(`{"weight_map":{`)
			first := true
			for name, shard := range wm {
				if !first {
					doc.WriteByte(',')
				}
				first = false
				fmt.Fprintf(&doc, "%q:%q", name, shard)
			}
			doc.WriteString("}}")
			parsed, err := safetensors.ParseIndex([]byte(doc.String()))
			if err != nil {
				t.Fatal(err)
			}
			check(t, parsed)
		})
	}
}

// TestIndexTableGrows: short entries (a small size hint) make the table
// grow many times; every name stays found, and a duplicate after the
// growth is still one.
func TestIndexTableGrows(t *testing.T) {
	var doc strings.Builder
	doc.WriteString(`{"weight_map":{`)
	const n = 20000
	for i := range n {
		fmt.Fprintf(&doc, `"%x":"s",`, i)
	}
	dup := doc.Len()
	doc.WriteString(`"1f":"s"}}`) // the 32nd name again
	_, err := safetensors.ParseIndex([]byte(doc.String()))
	var fe *safetensors.FormatError
	if !errors.Is(err, safetensors.ErrSchema) || !errors.As(err, &fe) || fe.Offset != int64(dup) {
		t.Fatalf("ParseIndex with a duplicate at %d = %v, want ErrSchema there", dup, err)
	}
	ix, err := safetensors.ParseIndex([]byte(doc.String()[:dup-1] + "}}"))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != n {
		t.Fatalf("Len() = %d, want %d", ix.Len(), n)
	}
	for i := range n {
		if s, ok := ix.Shard(fmt.Sprintf("%x", i)); !ok || s != "s" {
			t.Fatalf("Shard(%x) = %q, %v", i, s, ok)
		}
	}
	if got := ix.Shards(); len(got) != 1 || got[0] != "s" {
		t.Errorf("Shards() = %q, want [s]", got)
	}
}

// The zero Index names nothing.
func TestIndexZero(t *testing.T) {
	var ix safetensors.Index
	if _, ok := ix.Shard("a"); ok || ix.Len() != 0 || len(ix.Shards()) != 0 {
		t.Errorf("zero Index: Shard found, Len %d, Shards %q", ix.Len(), ix.Shards())
	}
	for range ix.All() {
		t.Error("zero Index: All yields")
	}
}
