package checkpoint

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Inventory lists every tensor of the checkpoint: for safetensors in shard
// order (the index's order of first appearance, else by name) and data
// order within a shard; for GGUF in part and file order. It is built once,
// on first use, and shared: callers must not modify it.
func (ck *Checkpoint) Inventory() *Inventory {
	ck.invOnce.Do(func() { ck.inv = ck.buildInventory() })
	return ck.inv
}

func (ck *Checkpoint) buildInventory() *Inventory {
	inv := &Inventory{Format: ck.Format, Files: ck.Files}
	switch ck.Format {
	case FormatSafetensors:
		// Each shard fills its own part of one slice, the shards shared
		// among NumCPU goroutines: a checkpoint of many shards has tens
		// of thousands of tensors, and the entries, written once each,
		// cost the fresh memory they take more than the work.
		starts := make([]int, len(ck.Files)+1)
		for i, fe := range ck.Files {
			starts[i+1] = starts[i] + len(ck.ShardOf(fe).Tensors)
		}
		inv.Tensors = make([]Tensor, starts[len(ck.Files)])
		fill := func(i int) {
			fe := ck.Files[i]
			f := ck.ShardOf(fe)
			base := f.DataOffset()
			out := inv.Tensors[starts[i]:starts[i+1]]
			for j := range f.Tensors {
				t := &f.Tensors[j]
				out[j] = Tensor{
					Name: t.Name, Shape: t.Shape, Logical: t.Shape, DType: t.DType.String(),
					Params: t.Elements(), Bytes: t.Bytes(), File: fe.Name, Offset: base + t.Begin,
					Layer: LayerOf(t.Name),
				}
			}
		}
		workers := min(runtime.NumCPU(), len(ck.Files))
		if len(inv.Tensors) < 4096 {
			workers = 1
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(ck.Files); i = int(next.Add(1) - 1) {
					fill(i)
				}
			})
		}
		wg.Wait()
	case FormatGGUF:
		n := 0
		for _, p := range ck.GGUF {
			n += len(p.Tensors)
		}
		inv.Tensors = make([]Tensor, 0, n)
		var dims []int64 // the Logical shapes, in chunks
		for pi, p := range ck.GGUF {
			for i := range p.Tensors {
				t := &p.Tensors[i]
				inv.Tensors = append(inv.Tensors, Tensor{
					Name: t.Name, Shape: t.Dims, Logical: reversed(&dims, t.Dims), DType: t.Type.String(),
					Params: t.Elements(), Bytes: t.Size, File: ck.Files[pi].Name, Offset: p.DataOffset + t.Offset,
					Layer: LayerOf(t.Name),
				})
			}
		}
	}
	return inv
}
