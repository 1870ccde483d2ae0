package safetensors_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unsafe"

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

// TestReadNamesFromIndex: with WithNamesFrom, the names the index holds
// are its own strings (same bytes in memory), the others are copies that
// survive the next Read reusing the header buffer, and the File is the
// one Read gives without the option.
func TestReadNamesFromIndex(t *testing.T) {
	ix := safetensors.NewIndex(map[string]string{"layer.a": "s", "layer.c": "s", "elsewhere": "t"})
	header := func(prefix string) string {
		return `{"` + prefix + `a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"` +
			prefix + `b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"` +
			prefix + `c\u0021":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}`
	}
	b := rawFile(header("layer."), 4)
	want, err := safetensors.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(bytes.NewReader(b), int64(len(b)), safetensors.WithNamesFrom(ix))
	if err != nil {
		t.Fatal(err)
	}
	// Another header of the same length through the pooled buffer.
	b2 := rawFile(header("other."), 4)
	if _, err := safetensors.Read(bytes.NewReader(b2), int64(len(b2)), safetensors.WithNamesFrom(ix)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("File with WithNamesFrom differs (-without +with):\n%s", diff)
	}
	indexed := map[string]string{}
	for name := range ix.All() {
		indexed[name] = name
	}
	for _, tn := range f.Tensors {
		s, ok := indexed[tn.Name]
		if shared := ok && unsafe.StringData(s) == unsafe.StringData(tn.Name); shared != ok {
			t.Errorf("%q: shares the index's string: %v, want %v", tn.Name, shared, ok)
		}
	}
	if f.Tensors[0].Name != "layer.a" || f.Tensors[1].Name != "layer.b" || f.Tensors[2].Name != "layer.c!" {
		t.Errorf("names %q, %q, %q after another Read", f.Tensors[0].Name, f.Tensors[1].Name, f.Tensors[2].Name)
	}
}
