// Package qwen3 is the Qwen3 decoder family: Qwen3-MoE (config.json
// model_type "qwen3_moe", GGUF architecture "qwen3moe") and dense Qwen3
// ("qwen3"), the architecture of the seed's contract.
//
// Everything the audit knows of the family is here: the config and its
// validation (config.go), the tensor names and shapes of both formats in
// one table (layout.go), the GGUF metadata keys read and written from one
// table (gguf.go), the parameter prediction (predict.go), the block shape
// walk (walk.go), the published profiles (profiles.go), and the cost and
// forward wiring (spec.go).
//
// Primary sources: transformers models/qwen3_moe/configuration_qwen3_moe.py
// and modeling_qwen3_moe.py (and models/qwen3/), llama.cpp
// gguf-py/gguf/constants.py (MODEL_ARCH.QWEN3MOE, QWEN3), convert_hf_to_gguf.py
// and src/llama-arch.cpp, the model cards of Qwen/Qwen3-235B-A22B and
// Qwen/Qwen3-30B-A3B, and the seed contract (../shared/seeds).
package qwen3
