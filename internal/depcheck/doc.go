// Package depcheck holds a test that keeps the format readers free of
// dependencies: package gguf and package safetensors may import only the
// standard library and this module's internal packages.
package depcheck
