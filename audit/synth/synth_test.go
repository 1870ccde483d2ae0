package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// The published 235B shards: 118 files, total_size 470,187,269,120
// (../shared/reference/qwen3moe.md).
func TestHFIndex(t *testing.T) {
	l, err := synth.Builtin("safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var index []byte
	shards := 0
	for _, f := range l.Files {
		switch {
		case f.Name == "model.safetensors.index.json":
			index = f.Head
		case filepath.Ext(f.Name) == ".safetensors":
			shards++
		}
	}
	if shards != 118 {
		t.Errorf("%d shards, want 118", shards)
	}
	var ix struct {
		Metadata struct {
			TotalSize int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(index, &ix); err != nil {
		t.Fatal(err)
	}
	if ix.Metadata.TotalSize != 470_187_269_120 {
		t.Errorf("total_size = %d, want 470,187,269,120", ix.Metadata.TotalSize)
	}
	if len(ix.WeightMap) != 36945 {
		t.Errorf("weight_map has %d entries, want 36,945", len(ix.WeightMap))
	}
	if got := ix.WeightMap["model.embed_tokens.weight"]; got != "model-00001-of-00118.safetensors" {
		t.Errorf("embed_tokens in %s, want the first shard", got)
	}
	if got := ix.WeightMap["lm_head.weight"]; got != "model-00118-of-00118.safetensors" {
		t.Errorf("lm_head in %s, want the last shard", got)
	}
}

// WriteDir writes sparse files that read back exactly as the in-memory
// source serves them, with data filled in where asked.
func TestWriteDirSparse(t *testing.T) {
	cfg := qwen3.Qwen3_30B_A3B()
	cfg.NumHiddenLayers = 4
	l, err := synth.HF("four-layers", qwen3.MustNew(cfg), synth.HFOptions{Shards: 3, DType: safetensors.F32})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mark := []byte{1, 2, 3, 4}
	err = l.WriteDir(context.Background(), dir, func(p synth.Placed) ([]byte, error) {
		if p.Name == "model.layers.2.self_attn.q_proj.weight" {
			return mark, nil
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var apparent, allocated int64
	for _, f := range l.Files {
		fh, err := os.Open(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		info, err := fh.Stat()
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, len(f.Head))
		_, err = fh.ReadAt(head, 0)
		fh.Close()
		if err != nil || info.Size() != f.Size || !bytes.Equal(head, f.Head) {
			t.Errorf("%s: %d bytes on disk (%v), want %d starting with the head", f.Name, info.Size(), err, f.Size)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, f.Name), &st); err == nil {
			apparent += f.Size
			allocated += st.Blocks * 512
		}
	}
	if allocated > apparent/10 {
		t.Logf("files take %d of %d bytes on disk: the file system does not keep holes", allocated, apparent)
	}
	ck, err := checkpoint.Load(context.Background(), hub.NewDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	inv := ck.Inventory()
	for _, tn := range inv.Tensors {
		if tn.Name != "model.layers.2.self_attn.q_proj.weight" {
			continue
		}
		f, err := os.Open(filepath.Join(dir, tn.File))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got := make([]byte, 8)
		if _, err := f.ReadAt(got, tn.Offset); err != nil {
			t.Fatal(err)
		}
		if want := []byte{1, 2, 3, 4, 0, 0, 0, 0}; !bytes.Equal(got, want) {
			t.Errorf("data at %s offset %d = %v, want %v", tn.File, tn.Offset, got, want)
		}
		return
	}
	t.Error("tensor model.layers.2.self_attn.q_proj.weight not in the inventory")
}

func TestBuiltinUnknown(t *testing.T) {
	if _, err := synth.Builtin("nope"); err == nil {
		t.Error(`Builtin("nope") succeeded`)
	}
}
