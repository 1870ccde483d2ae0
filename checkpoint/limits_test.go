package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// shard returns a safetensors file of n BF16 [1] tensors whose names start
// with prefix.
func shard(prefix string, n int) []byte {
	var h strings.Builder
	h.WriteString("{")
	for i := range n {
		if i > 0 {
			h.WriteString(",")
		}
		fmt.Fprintf(&h, `"%s.%d.weight":{"dtype":"BF16","shape":[1],"data_offsets":[%d,%d]}`, prefix, i, 2*i, 2*i+2)
	}
	h.WriteString("}")
	b := binary.LittleEndian.AppendUint64(nil, uint64(h.Len()))
	b = append(b, h.String()...)
	return append(b, make([]byte, 2*n)...)
}

// ggufPart returns part no (0-based) of count of a GGUF split set holding
// total tensors, with n empty F32 tensors named prefix.I.
func ggufPart(tb testing.TB, prefix string, n, no, count, total int) []byte {
	ts := make([]gguf.TensorInfo, n)
	for i := range ts {
		ts[i] = gguf.TensorInfo{Name: fmt.Sprintf("%s.%d", prefix, i), Dims: []int64{0}, Type: gguf.TypeF32}
	}
	h, _, err := gguf.EncodeHeader(3, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: gguf.KeySplitNo, Value: gguf.Uint16(uint16(no))},
		{Key: gguf.KeySplitCount, Value: gguf.Uint16(uint16(count))},
		{Key: gguf.KeySplitTensorsCount, Value: gguf.Int32(int32(total))},
	}, ts)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestLoadTensorCap checks the cap on the tensors of all the files of a
// checkpoint: files that hold 262,144 tensors in all load; one more
// tensor fails, naming a file, the cap and ErrLimit, whatever the number
// of headers read at once.
func TestLoadTensorCap(t *testing.T) {
	const capTensors = safetensors.MaxIndexEntries
	type file struct {
		name string
		data []byte
	}
	// Four shards of a quarter of the cap each, the last with one more
	// tensor or not; four GGUF parts at the cap (65,536 each is also the
	// cap on one GGUF file).
	build := func(over bool) (st, gg []file) {
		for i := range 4 {
			n := capTensors / 4
			if over && i == 3 {
				n++
			}
			st = append(st, file{fmt.Sprintf("model-%05d-of-00004.safetensors", i+1), shard(fmt.Sprintf("s%d", i), n)})
			if !over {
				gg = append(gg, file{gguf.SplitName("model", i+1, 4), ggufPart(t, fmt.Sprintf("g%d", i), n, i, 4, capTensors)})
			}
		}
		return st, gg
	}
	load := func(files []file, jobs int) (*checkpoint.Checkpoint, error) {
		src := hub.NewMem("mem")
		for _, f := range files {
			src.Add(f.name, bytes.NewReader(f.data), int64(len(f.data)))
		}
		return checkpoint.Load(context.Background(), src, checkpoint.WithJobs(jobs))
	}
	st, gg := build(false)
	for _, files := range [][]file{st, gg} {
		ck, err := load(files, 4)
		if err != nil {
			t.Fatalf("Load(%s…, %d tensors in all) = %v", files[0].name, capTensors, err)
		}
		if n := len(ck.Inventory().Tensors); n != capTensors {
			t.Fatalf("%d tensors, want %d", n, capTensors)
		}
	}
	over, _ := build(true)
	for _, jobs := range []int{1, 4} {
		_, err := load(over, jobs)
		var fe *safetensors.FormatError
		if !errors.Is(err, safetensors.ErrLimit) || !errors.As(err, &fe) || !strings.Contains(err.Error(), "262144") || !strings.Contains(err.Error(), ".safetensors") {
			t.Errorf("jobs %d: Load(%d tensors in all) = %v, want ErrLimit naming a file and the cap", jobs, capTensors+1, err)
		}
	}
}

// TestLoadMemory bounds what loading a checkpoint at the tensor cap keeps:
// the headers (tensor names are substrings of them) and about 200 bytes a
// tensor (its TensorInfo, 64, its shape, 8, and its inventory entry, 128).
func TestLoadMemory(t *testing.T) {
	src := hub.NewMem("mem")
	var headers int64
	for i := range 4 {
		b := shard(fmt.Sprintf("model.layers.%d.mlp.experts", i), safetensors.MaxIndexEntries/4)
		headers += int64(binary.LittleEndian.Uint64(b))
		src.Add(fmt.Sprintf("model-%05d-of-00004.safetensors", i+1), bytes.NewReader(b), int64(len(b)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithJobs(2))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	n := int64(len(ck.Inventory().Tensors))
	t.Logf("%d tensors, %d bytes of headers: %d bytes kept (the headers and %d bytes a tensor)", n, headers, kept, (kept-headers)/n)
	if limit := headers + 256*n; kept > limit {
		t.Errorf("Load kept %d bytes for %d tensors in %d bytes of headers, want at most %d", kept, n, headers, limit)
	}
	runtime.KeepAlive(ck)
}
