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

// indexView is what an Index holds, its weight_map as a map.
type indexView struct {
	TotalSize int64
	Metadata  map[string]any
	WeightMap map[string]string
}

func viewOf(ix *safetensors.Index) *indexView {
	if ix == nil {
		return nil
	}
	return &indexView{TotalSize: ix.TotalSize, Metadata: ix.Metadata, WeightMap: maps.Collect(ix.All())}
}

// indexOf returns the index of weightMap with total_size n.
func indexOf(n int64, weightMap map[string]string) *safetensors.Index {
	ix := safetensors.NewIndex(weightMap)
	ix.TotalSize = n
	return ix
}

type indexParseTest struct {
	name  string
	in    string
	want  *indexView
	err   error  // the sentinel when want is nil
	at    string // the offset is the index of at in in,
	off   int64  // or this, when at is ""
	field string
}

// indexParseTests also seed FuzzParseIndex.
var indexParseTests = []indexParseTest{
	{
		name: "typical",
		in: `{
  "metadata": {"total_size": 470187269120, "format": "pt"},
  "weight_map": {
    "lm_head.weight": "model-00118-of-00118.safetensors",
    "model.embed_tokens.weight": "model-00001-of-00118.safetensors",
    "model.layers.0.mlp.gate.weight": "model-00001-of-00118.safetensors"
  }
}`,
		want: &indexView{
			TotalSize: 470187269120,
			Metadata:  map[string]any{"total_size": float64(470187269120), "format": "pt"},
			WeightMap: map[string]string{
				"lm_head.weight":                 "model-00118-of-00118.safetensors",
				"model.embed_tokens.weight":      "model-00001-of-00118.safetensors",
				"model.layers.0.mlp.gate.weight": "model-00001-of-00118.safetensors",
			},
		},
	},
	{
		name: "no metadata, extra keys skipped",
		in:   `{"weight_map":{},"extra":[1,{"a":[true,false,null,-1.5e3]}]}`,
		want: &indexView{TotalSize: -1, WeightMap: map[string]string{}},
	},
	{
		name: "metadata without total_size",
		in:   `{"metadata":{"nested":{"a":[1,"x"]}},"weight_map":{"a":"s.safetensors"}}`,
		want: &indexView{
			TotalSize: -1,
			Metadata:  map[string]any{"nested": map[string]any{"a": []any{float64(1), "x"}}},
			WeightMap: map[string]string{"a": "s.safetensors"},
		},
	},
	{
		name: "integral float total_size",
		in:   `{"metadata":{"total_size":1.5e3},"weight_map":{}}`,
		want: &indexView{TotalSize: 1500, Metadata: map[string]any{"total_size": float64(1500)}, WeightMap: map[string]string{}},
	},
	{name: "not an object", in: `["weight_map"]`, err: safetensors.ErrSchema, at: `[`, field: "index"},
	{name: "empty", in: ``, err: safetensors.ErrSyntax, field: "index"},
	{name: "missing weight_map", in: `{"metadata":{}}`, err: safetensors.ErrSchema, field: "index"},
	{name: "weight_map not an object", in: `{"weight_map":[]}`, err: safetensors.ErrSchema, at: `[]`, field: `key "weight_map"`},
	{name: "non-string shard", in: `{"weight_map":{"a":1}}`, err: safetensors.ErrSchema, at: `1`, field: `tensor "a"`},
	{name: "null shard", in: `{"weight_map":{"a":null}}`, err: safetensors.ErrSchema, at: `null`, field: `tensor "a"`},
	{name: "duplicate tensor", in: `{"weight_map":{"a":"x","a":"y"}}`, err: safetensors.ErrSchema, at: `"a":"y"`, field: `tensor "a"`},
	{name: "duplicate top-level key", in: `{"weight_map":{},"weight_map":{}}`, err: safetensors.ErrSchema, at: `"weight_map":{}}`, field: "index"},
	{name: "shard with slash", in: `{"weight_map":{"a":"sub/x.safetensors"}}`, err: safetensors.ErrUnsafePath, at: `"sub`, field: `tensor "a"`},
	{name: "absolute shard", in: `{"weight_map":{"a":"/etc/passwd"}}`, err: safetensors.ErrUnsafePath, at: `"/etc`, field: `tensor "a"`},
	{name: "shard with dot-dot", in: `{"weight_map":{"a":"..\\x"}}`, err: safetensors.ErrUnsafePath, at: `".`, field: `tensor "a"`},
	{name: "shard URL", in: `{"weight_map":{"a":"https://evil.example/x"}}`, err: safetensors.ErrUnsafePath, at: `"https`, field: `tensor "a"`},
	{name: "shard with backslash", in: `{"weight_map":{"a":"c\\x"}}`, err: safetensors.ErrUnsafePath, at: `"c`, field: `tensor "a"`},
	{name: "shard with drive", in: `{"weight_map":{"a":"C:x"}}`, err: safetensors.ErrUnsafePath, at: `"C`, field: `tensor "a"`},
	{name: "shard with NUL", in: `{"weight_map":{"a":"x\u0000"}}`, err: safetensors.ErrUnsafePath, at: `"x`, field: `tensor "a"`},
	{name: "empty shard", in: `{"weight_map":{"a":""}}`, err: safetensors.ErrUnsafePath, at: `""`, field: `tensor "a"`},
	// A NUL alone once matched the parser's "no shard yet" sentinel: the
	// entry skipped the checks and pointed at no shard (found by FuzzParseIndex).
	{name: "shard a NUL alone", in: `{"weight_map":{"a":"\u0000"}}`, err: safetensors.ErrUnsafePath, at: `"\u0000"`, field: `tensor "a"`},
	{name: "dot shard", in: `{"weight_map":{"a":"."}}`, err: safetensors.ErrUnsafePath, at: `"."`, field: `tensor "a"`},
	{name: "negative total_size", in: `{"metadata":{"total_size":-1},"weight_map":{}}`, err: safetensors.ErrSchema, at: `-1`, field: `key "metadata.total_size"`},
	{name: "fractional total_size", in: `{"metadata":{"total_size":1.5},"weight_map":{}}`, err: safetensors.ErrSchema, at: `1.5`, field: `key "metadata.total_size"`},
	{name: "huge total_size", in: `{"metadata":{"total_size":1e19},"weight_map":{}}`, err: safetensors.ErrOverflow, at: `1e19`, field: `key "metadata.total_size"`},
	{name: "string total_size", in: `{"metadata":{"total_size":"5"},"weight_map":{}}`, err: safetensors.ErrSchema, at: `"5"`, field: `key "metadata.total_size"`},
	{name: "metadata not an object", in: `{"metadata":1,"weight_map":{}}`, err: safetensors.ErrSchema, at: `1`, field: `key "metadata"`},
	{name: "metadata number out of range", in: `{"metadata":{"x":1e999},"weight_map":{}}`, err: safetensors.ErrOverflow, at: `1e999`, field: `key "metadata"`},
	{name: "deep nesting", in: `{"metadata":{"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `},"weight_map":{}}`, err: safetensors.ErrLimit, field: `key "metadata"`,
		off: int64(len(`{"metadata":{"x":`)) + 62}, // the 65th level
	{name: "deep nesting in skipped key", in: `{"x":` + strings.Repeat(`{"a":`, 100) + `}`, err: safetensors.ErrLimit, field: "index",
		off: int64(len(`{"x":`)) + 63*int64(len(`{"a":`))}, // the 65th level
	{name: "trailing data", in: `{"weight_map":{}} x`, err: safetensors.ErrSyntax, at: `x`, field: "index"},
	{name: "invalid UTF-8", in: "{\"weight_map\":{\"\xff\":\"x\"}}", err: safetensors.ErrSyntax, at: "\xff", field: "index"},
	{name: "duplicate metadata key", in: `{"metadata":{"a":1,"a":2},"weight_map":{}}`, err: safetensors.ErrSchema, at: `"a":2`, field: `key "metadata"`},
	{name: "duplicate nested key", in: `{"metadata":{"a":{"b":1,"b":2}},"weight_map":{}}`, err: safetensors.ErrSchema, at: `"b":2`, field: `key "metadata"`},
}

func TestParseIndex(t *testing.T) {
	for _, tt := range indexParseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := safetensors.ParseIndex([]byte(tt.in))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("ParseIndex() = %v", err)
				}
				if diff := cmp.Diff(tt.want, viewOf(got)); diff != "" {
					t.Errorf("ParseIndex() mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseIndex() = %v, %v; want %v", got, err, tt.err)
			}
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseIndex() error %T, want *FormatError", err)
			}
			wantOff := tt.off
			if tt.at != "" {
				i := strings.Index(tt.in, tt.at)
				if i < 0 {
					t.Fatalf("bad test: %q not in input", tt.at)
				}
				wantOff = int64(i)
			} else if tt.off == 0 && tt.in != "" && tt.err != safetensors.ErrSchema {
				wantOff = int64(len(tt.in))
			}
			if fe.Offset != wantOff || fe.Field != tt.field {
				t.Errorf("ParseIndex() error at offset %d, field %s; want %d, %s (%v)", fe.Offset, fe.Field, wantOff, tt.field, err)
			}
		})
	}
}

func writeInt(b *strings.Builder, i int) {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	b.Write(buf[n:])
}

func TestIndexShards(t *testing.T) {
	ix := safetensors.NewIndex(map[string]string{"a": "2", "b": "1", "c": "2"})
	if diff := cmp.Diff([]string{"1", "2"}, ix.Shards()); diff != "" {
		t.Errorf("Shards() mismatch (-want +got):\n%s", diff)
	}
	if got := (&safetensors.Index{}).Shards(); len(got) != 0 {
		t.Errorf("Shards() of an empty index = %q", got)
	}
}

// shard builds a parsed shard holding U8 tensors of the given sizes.
func shard(tb testing.TB, tensors map[string]int64) *safetensors.File {
	tb.Helper()
	var ts []safetensors.TensorInfo
	var off int64
	for name, n := range tensors {
		ts = append(ts, safetensors.TensorInfo{Name: name, DType: safetensors.U8, Shape: []int64{n}, Begin: off, End: off + n})
		off += n
	}
	return &safetensors.File{Tensors: ts}
}

func TestCheckIndex(t *testing.T) {
	tests := []struct {
		name   string
		index  *safetensors.Index
		shards map[string]*safetensors.File
		want   []safetensors.Mismatch
	}{
		{
			name:  "consistent",
			index: indexOf(30, map[string]string{"a": "s1", "b": "s1", "c": "s2"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 10, "b": 5}),
				"s2": shard(t, map[string]int64{"c": 15}),
			},
		},
		{
			name:  "consistent without total_size",
			index: indexOf(-1, map[string]string{"a": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 10}),
			},
		},
		{
			name:  "missing shard",
			index: indexOf(99, map[string]string{"a": "s1", "b": "s2", "c": "s3"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1}),
				"s3": nil,
			},
			want: []safetensors.Mismatch{
				{Kind: safetensors.MissingShard, Shard: "s2"},
				{Kind: safetensors.MissingShard, Shard: "s3"},
			},
		},
		{
			name:  "not in shard",
			index: indexOf(-1, map[string]string{"a": "s1", "gone": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1}),
			},
			want: []safetensors.Mismatch{{Kind: safetensors.NotInShard, Tensor: "gone", Shard: "s1"}},
		},
		{
			name:  "unindexed",
			index: indexOf(-1, map[string]string{"a": "s1"}),
			shards: map[string]*safetensors.File{
				"s1":    shard(t, map[string]int64{"a": 1, "extra": 2}),
				"other": shard(t, map[string]int64{"z": 2}),
			},
			want: []safetensors.Mismatch{
				{Kind: safetensors.Unindexed, Tensor: "extra", Shard: "s1"},
				{Kind: safetensors.Unindexed, Tensor: "z", Shard: "other"},
			},
		},
		{
			name:  "wrong shard",
			index: indexOf(-1, map[string]string{"a": "s1", "b": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1}),
				"s2": shard(t, map[string]int64{"b": 1}),
			},
			want: []safetensors.Mismatch{{Kind: safetensors.WrongShard, Tensor: "b", Shard: "s1", Other: "s2"}},
		},
		{
			name:  "wrong shard, indexed shard missing",
			index: indexOf(-1, map[string]string{"a": "s1", "b": "s9"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1, "b": 1}),
			},
			want: []safetensors.Mismatch{
				{Kind: safetensors.MissingShard, Shard: "s9"},
				{Kind: safetensors.WrongShard, Tensor: "b", Shard: "s9", Other: "s1"},
			},
		},
		{
			name:  "duplicate",
			index: indexOf(3, map[string]string{"a": "s2", "u": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1, "u": 1}),
				"s2": shard(t, map[string]int64{"a": 1}),
			},
			want: []safetensors.Mismatch{{Kind: safetensors.Duplicate, Tensor: "a", Shard: "s1", Other: "s2"}},
		},
		{
			name:  "wrong shard and duplicate",
			index: indexOf(-1, map[string]string{"a": "s1", "x": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"x": 1}),
				"s2": shard(t, map[string]int64{"a": 1}),
				"s3": shard(t, map[string]int64{"a": 1}),
			},
			want: []safetensors.Mismatch{
				{Kind: safetensors.WrongShard, Tensor: "a", Shard: "s1", Other: "s2"},
				{Kind: safetensors.Duplicate, Tensor: "a", Shard: "s3", Other: "s2"},
			},
		},
		{
			name:  "unindexed duplicate",
			index: indexOf(-1, map[string]string{}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 1}),
				"s2": shard(t, map[string]int64{"a": 1}),
			},
			want: []safetensors.Mismatch{
				{Kind: safetensors.Unindexed, Tensor: "a", Shard: "s1"},
				{Kind: safetensors.Unindexed, Tensor: "a", Shard: "s2"},
				{Kind: safetensors.Duplicate, Tensor: "a", Shard: "s2", Other: "s1"},
			},
		},
		{
			name:  "total size",
			index: indexOf(100, map[string]string{"a": "s1"}),
			shards: map[string]*safetensors.File{
				"s1": shard(t, map[string]int64{"a": 7}),
			},
			want: []safetensors.Mismatch{{Kind: safetensors.TotalSize, Want: 100, Got: 7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := safetensors.CheckIndex(tt.index, tt.shards)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckIndex() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMismatchString(t *testing.T) {
	tests := []struct {
		m    safetensors.Mismatch
		want string
	}{
		{safetensors.Mismatch{Kind: safetensors.MissingShard, Shard: "s2"}, `shard "s2" is named by the index but was not provided`},
		{safetensors.Mismatch{Kind: safetensors.NotInShard, Tensor: "t", Shard: "s1"}, `tensor "t" is indexed to shard "s1" but is not in it`},
		{safetensors.Mismatch{Kind: safetensors.Unindexed, Tensor: "t", Shard: "s1"}, `tensor "t" in shard "s1" is not in the index`},
		{safetensors.Mismatch{Kind: safetensors.WrongShard, Tensor: "t", Shard: "s1", Other: "s2"}, `tensor "t" is indexed to shard "s1" but is in shard "s2"`},
		{safetensors.Mismatch{Kind: safetensors.Duplicate, Tensor: "t", Shard: "s2", Other: "s1"}, `tensor "t" is in shard "s1" and again in shard "s2"`},
		{safetensors.Mismatch{Kind: safetensors.TotalSize, Want: 10, Got: 7}, `metadata.total_size is 10 bytes but the shards' tensors add up to 7 bytes`},
		{safetensors.Mismatch{Kind: 0, Tensor: "t"}, `MismatchKind(0): tensor "t", shard "", other ""`},
	}
	for _, tt := range tests {
		t.Run(tt.m.Kind.String(), func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.m, got, tt.want)
			}
		})
	}
	if got := safetensors.WrongShard.String(); got != "WrongShard" {
		t.Errorf("WrongShard.String() = %q, want WrongShard", got)
	}
}

// TestCheckIndexMany checks CheckIndex on a checkpoint large enough to be
// checked on two cores: 12,000 tensors over six shards, tensor i of i+1
// bytes (72,006,000 in all, worked out by hand: 12,000 × 12,001 / 2).
// Agreement, a wrong total, and a tensor moved out of each shard in turn,
// so that whichever half a shard falls in, a disagreement in it is found.
func TestCheckIndexMany(t *testing.T) {
	const shards, per = 6, 2000
	build := func(moved int) (*safetensors.Index, map[string]*safetensors.File) {
		weightMap := map[string]string{}
		sizes := make([]map[string]int64, shards)
		for k := range sizes {
			sizes[k] = map[string]int64{}
		}
		for i := range shards * per {
			name, k := fmt.Sprintf("t%05d", i), i/per
			weightMap[name] = fmt.Sprintf("s%d", k+1)
			if i == moved { // held by the next shard, indexed to its own
				k = (k + 1) % shards
			}
			sizes[k][name] = int64(i + 1)
		}
		files := map[string]*safetensors.File{}
		for k, m := range sizes {
			files[fmt.Sprintf("s%d", k+1)] = shard(t, m)
		}
		return indexOf(72006000, weightMap), files
	}
	ix, files := build(-1)
	if got := safetensors.CheckIndex(ix, files); got != nil {
		t.Errorf("consistent: %v, want none", got)
	}
	ix.TotalSize++
	want := []safetensors.Mismatch{{Kind: safetensors.TotalSize, Want: 72006001, Got: 72006000}}
	if diff := cmp.Diff(want, safetensors.CheckIndex(ix, files)); diff != "" {
		t.Errorf("total_size one too many (-want +got):\n%s", diff)
	}
	for k := range shards {
		moved := k*per + 7
		ix, files := build(moved)
		want := []safetensors.Mismatch{{Kind: safetensors.WrongShard, Tensor: fmt.Sprintf("t%05d", moved),
			Shard: fmt.Sprintf("s%d", k+1), Other: fmt.Sprintf("s%d", (k+1)%shards+1)}}
		if diff := cmp.Diff(want, safetensors.CheckIndex(ix, files)); diff != "" {
			t.Errorf("tensor %d of shard s%d in the next shard (-want +got):\n%s", moved, k+1, diff)
		}
	}
}
