package checkpoint

import (
	"encoding/json"

	"github.com/weightaudit/weightaudit/gguf"
)

// maxInlineArray is the longest GGUF array shown element by element in
// [Checkpoint.Metadata]; longer ones (the tokenizer's 151,936 tokens) are
// summarized by type and length.
const maxInlineArray = 16

// Metadata returns the checkpoint's metadata as plain values: for
// safetensors the config.json, the shards' __metadata__ and the index's
// metadata; for GGUF every key of the first part, with long arrays
// summarized as {"type":"array","elem_type":…,"len":…}.
func (ck *Checkpoint) Metadata() map[string]any {
	md := map[string]any{}
	if ck.Config != nil {
		var cfg any
		if json.Unmarshal(ck.Config, &cfg) == nil {
			md["config"] = cfg
		}
	}
	switch ck.Format {
	case FormatSafetensors:
		for _, fe := range ck.Files {
			if f := ck.ShardOf(fe); f != nil && f.Metadata != nil {
				md["safetensors"] = f.Metadata
				break
			}
		}
		if ck.Index != nil {
			md["index"] = ck.Index.Metadata
		}
	case FormatGGUF:
		if len(ck.GGUF) > 0 {
			kv := map[string]any{}
			for _, e := range ck.GGUF[0].KVs {
				kv[e.Key] = plainValue(e.Value)
			}
			md["gguf"] = kv
			md["gguf_version"] = ck.GGUF[0].Version
		}
	}
	return md
}

func plainValue(v gguf.Value) any {
	if v.Type() == gguf.ValueArray && v.Len() > maxInlineArray {
		return map[string]any{"type": "array", "elem_type": v.ElemType().String(), "len": v.Len()}
	}
	return v.Any()
}
