// Package cost is the cost model: weight memory per quantization, the KV
// cache, activations, FLOPs per token and roofline throughput on hardware
// presets, from an architecture's dimensions and its [arch.Coster]
// capability, never from its files.
//
// It implements the seed's memory_breakdown, flops_per_token and
// throughput_model equations (../shared/seeds/000_74fb2986308396fe.txt), as
// DESIGN.md ("The Qwen3-MoE contract") refines them. Weight bytes come only
// from ggml's type table (package gguf) applied to the spec's GGUF layout
// under a [Quantization].
//
// The memory planner ([NewPlan]) places a model as llama.cpp does: keys
// and values each in a cache type of their own ([KVCacheSplit]), layer by
// layer ([LayerKV], [PredictLayerWeights], [InventoryLayerWeights]), the
// last --gpu-layers layers offloaded and split whole over equal devices
// by llama.cpp's layer split, the token embedding kept in host memory.
// Every function here is pure and safe for concurrent use.
package cost
