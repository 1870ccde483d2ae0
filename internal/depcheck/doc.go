// Package depcheck holds the tests that keep packages free of dependencies
// they must not have: package gguf and package safetensors may import only
// the standard library and this module's internal packages, and package
// hub no package of this module but its internal ones (no format reader,
// no audit package); and no package's build imports arch/archtest or a
// family's test helpers (arch/<family>/<family>test), which only test
// files may.
package depcheck
