package cost

import (
	"encoding/json"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// KVSize is the size of a KV cache split as llama.cpp allocates it: the
// key tensors (cache_k, typed by --cache-type-k) and the value tensors
// (cache_v, typed by --cache-type-v).
type KVSize struct {
	K     int64 `json:"k_bytes"`
	V     int64 `json:"v_bytes"`
	Total int64 `json:"total_bytes"`
}

func (s KVSize) plus(o KVSize, b *bound) KVSize {
	return KVSize{K: b.add(s.K, o.K), V: b.add(s.V, o.V), Total: b.add(s.Total, o.Total)}
}

// kvCache returns the spec's KV cache parts, or an error wrapping
// [arch.ErrNotApplicable] when it has no [arch.Coster].
func kvCache(spec arch.Spec) ([]arch.KVRows, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	c, ok := spec.(arch.Coster)
	if !ok {
		return nil, fmt.Errorf("%w: %s gives no KV cache model", arch.ErrNotApplicable, spec.Family())
	}
	return c.KVCache(), nil
}

// partKV returns the K and V bytes of part p for seqs sequences of ctx
// positions each:
//
//	K = rowsK · positions · rowBytes_K(width)
//	V = rowsV · positions · rowBytes_V(width)
//
// with rowsK = rowsV = Rows/2, or rowsK = Rows and rowsV = 0 for a
// KeysOnly part, and rowBytes_T(width) = width / BlockSize(T) · TypeSize(T)
// from ggml's type table. positions is ctx · seqs for a full part; for a
// sliding one min(ctx, window) · seqs when ubatch is 0, else llama.cpp's
// sliding-window cache, min(ctx · seqs, pad256(window · seqs + ubatch))
// (llama-kv-cache-iswa.cpp: size_swa).
func partKV(p arch.KVRows, ctx, seqs, ubatch int64, k, v gguf.Type, b *bound) (KVSize, error) {
	rowK, err := k.RowSize(p.Width)
	if err != nil {
		return KVSize{}, fmt.Errorf("%w: K cache type %s: rows of %d elements: %w", ErrCostInput, lower(k), p.Width, err)
	}
	tokens := b.mul(ctx, seqs)
	switch {
	case p.Window > 0 && ubatch > 0:
		padded := b.add(b.mul(p.Window, seqs), ubatch, 255) / 256 * 256
		tokens = min(tokens, padded)
	case p.Window > 0:
		tokens = b.mul(min(ctx, p.Window), seqs)
	}
	if p.KeysOnly {
		n := b.mul(p.Rows, tokens, rowK)
		return KVSize{K: n, Total: n}, nil
	}
	rowV, err := v.RowSize(p.Width)
	if err != nil {
		return KVSize{}, fmt.Errorf("%w: V cache type %s: rows of %d elements: %w", ErrCostInput, lower(v), p.Width, err)
	}
	if p.Rows%2 != 0 {
		return KVSize{}, fmt.Errorf("%w: KV cache part of %d rows, want an even number (keys and values)", ErrCostInput, p.Rows)
	}
	s := KVSize{K: b.mul(p.Rows/2, tokens, rowK), V: b.mul(p.Rows/2, tokens, rowV)}
	s.Total = b.add(s.K, s.V)
	return s, nil
}

// KVCacheSplit returns the KV cache of seqs sequences of ctx positions
// each, keys stored as kType and values as vType (see [KVTypes]; case is
// ignored). For every part of the cache the spec's [arch.Coster] lists,
// half the rows are keys and half values, each row of width elements
// taking width / BlockSize · TypeSize bytes of its type; a sliding part
// holds only min(ctx, window) positions per sequence, and a KeysOnly part
// (multi-head latent attention) no values at all. This is llama.cpp's
// per-layer n_ctx · (n_embd_k_gqa · type_size(K) + n_embd_v_gqa ·
// type_size(V)) / block size, with n_ctx = ctx · seqs: each sequence
// gets its own ctx positions. (llama.cpp's -c is the total over the
// -np sequences, and its sliding-window cache keeps n_swa · seqs +
// n_ubatch positions rounded up to 256, a micro-batch more than the
// window counted here.)
//
// It fails like [KVCacheBytes].
func KVCacheSplit(spec arch.Spec, ctx, seqs int64, kType, vType string) (KVSize, error) {
	parts, err := kvCache(spec)
	if err != nil {
		return KVSize{}, err
	}
	k, v, err := kvTypes2(kType, vType)
	if err != nil {
		return KVSize{}, err
	}
	if ctx < 1 || seqs < 1 {
		return KVSize{}, fmt.Errorf("%w: KV cache for context %d and %d sequences, want both ≥ 1", ErrCostInput, ctx, seqs)
	}
	var b bound
	var total KVSize
	for _, p := range parts {
		s, err := partKV(p, ctx, seqs, 0, k, v, &b)
		if err != nil {
			return KVSize{}, err
		}
		total = total.plus(s, &b)
	}
	if b.overflow {
		return KVSize{}, fmt.Errorf("%w: KV cache for context %d and %d sequences", ErrCostOverflow, ctx, seqs)
	}
	return total, nil
}

func kvTypes2(kType, vType string) (k, v gguf.Type, err error) {
	if k, err = ParseKVType(kType); err != nil {
		return 0, 0, fmt.Errorf("K cache: %w", err)
	}
	if v, err = ParseKVType(vType); err != nil {
		return 0, 0, fmt.Errorf("V cache: %w", err)
	}
	return k, v, nil
}

// LayerKV returns [KVCacheSplit] layer by layer, for placing layers on
// devices: element i is decoder layer i's share. With ubatch > 0, a
// sliding layer holds what llama.cpp's sliding-window cache keeps for a
// micro-batch of ubatch tokens (-ub): min(ctx · seqs, the window · seqs +
// ubatch rounded up to 256 positions), instead of the window alone. When the cache mixes
// full and sliding layers, the spec's configuration says which layer
// slides through a method Window(layer int64) int64 (gpt-oss, Qwen2) or
// Sliding(layer int64) bool (Gemma 3); a family with neither has each
// part spread evenly over all layers, and exact reports false. The
// elements always sum to KVCacheSplit's total.
func LayerKV(spec arch.Spec, ctx, seqs, ubatch int64, kType, vType string) (perLayer []KVSize, exact bool, err error) {
	parts, err := kvCache(spec)
	if err != nil {
		return nil, false, err
	}
	k, v, err := kvTypes2(kType, vType)
	if err != nil {
		return nil, false, err
	}
	if ctx < 1 || seqs < 1 || ubatch < 0 {
		return nil, false, fmt.Errorf("%w: KV cache for context %d, %d sequences and micro-batch %d, want ≥ 1, ≥ 1, ≥ 0", ErrCostInput, ctx, seqs, ubatch)
	}
	layers := spec.Dims().Layers
	if layers < 1 || layers > arch.MaxLayers {
		return nil, false, fmt.Errorf("%w: %d layers", ErrCostInput, layers)
	}
	window, known := layerWindow(spec, parts)
	exact = known || len(parts) <= 1
	var b bound
	out := make([]KVSize, layers)
	for _, p := range parts {
		s, err := partKV(p, ctx, seqs, ubatch, k, v, &b)
		if err != nil {
			return nil, false, err
		}
		var members []int64
		for i := range layers {
			if !exact || len(parts) == 1 || window(i) == p.Window {
				members = append(members, i)
			}
		}
		if len(members) == 0 {
			return nil, false, fmt.Errorf("%w: no layer has the KV cache window %d", ErrCostInput, p.Window)
		}
		n := int64(len(members))
		for j, i := range members {
			share := KVSize{K: s.K / n, V: s.V / n}
			if int64(j) < s.K%n {
				share.K++
			}
			if int64(j) < s.V%n {
				share.V++
			}
			share.Total = share.K + share.V
			out[i] = out[i].plus(share, &b)
		}
	}
	if b.overflow {
		return nil, false, fmt.Errorf("%w: KV cache for context %d and %d sequences", ErrCostOverflow, ctx, seqs)
	}
	return out, exact, nil
}

// layerWindow returns the window of layer i (0: full attention) from the
// spec's configuration, and whether the configuration says it.
func layerWindow(spec arch.Spec, parts []arch.KVRows) (func(int64) int64, bool) {
	switch c := spec.Config().(type) {
	case interface{ Window(int64) int64 }:
		return c.Window, true
	case interface{ Sliding(int64) bool }:
		var w int64
		for _, p := range parts {
			w = max(w, p.Window)
		}
		return func(i int64) int64 {
			if c.Sliding(i) {
				return w
			}
			return 0
		}, true
	}
	return func(int64) int64 { return 0 }, false
}

// MaxContext returns the longest context the model was configured for:
// max_position_embeddings of its config.json (context_length of its
// GGUF metadata, which families read into the same field), or of its
// text_config for a multimodal config; 0 when the config has none.
func MaxContext(spec arch.Spec) int64 {
	if spec == nil {
		return 0
	}
	raw, err := json.Marshal(spec.Config())
	if err != nil {
		return 0
	}
	var c struct {
		Max  int64 `json:"max_position_embeddings"`
		Text *struct {
			Max int64 `json:"max_position_embeddings"`
		} `json:"text_config"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return 0
	}
	if c.Max <= 0 && c.Text != nil {
		return max(c.Text.Max, 0)
	}
	return max(c.Max, 0)
}
