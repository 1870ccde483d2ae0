package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// The valid safetensors file every case starts from: __metadata__, then
// tensor "a" (F32 [2,2], data bytes 0-16) and "b" (F32 [4], bytes 16-32).
const (
	stMeta = `"__metadata__":{"format":"pt"}`
	stA    = `"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}`
	stB    = `"b":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}`
)

// stHeader joins entries into a header object.
func stHeader(entries ...string) string { return "{" + strings.Join(entries, ",") + "}" }

// stData returns n bytes of tensor data: float32 values 1, 2, 3, ...
func stData(n int) []byte {
	out := make([]byte, n)
	for i := 0; i+4 <= n; i += 4 {
		binary.LittleEndian.PutUint32(out[i:], math.Float32bits(float32(i/4+1)))
	}
	return out
}

// stFile assembles a file: the header length N (the header's own length
// unless n is given), the header, the data.
func stFile(header string, data []byte, n ...uint64) []byte {
	length := uint64(len(header))
	if len(n) > 0 {
		length = n[0]
	}
	out := binary.LittleEndian.AppendUint64(nil, length)
	out = append(out, header...)
	return append(out, data...)
}

func safetensorsCases() []badFile {
	valid := stHeader(stMeta, stA, stB)
	data := stData(32)
	nested := `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}"
	cases := []badFile{
		{name: "st-short.safetensors", expect: []string{`header length`, `truncated file`}, broken: "5 bytes: shorter than the 8-byte header length",
			data: stFile(valid, data)[:5]},
		{name: "st-hlen-past-eof.safetensors", expect: []string{`header length`, `truncated file`}, broken: fmt.Sprintf("header length N = 1000 in a %d-byte file", 8+len(valid)+len(data)),
			data: stFile(valid, data, 1000)},
		{name: "st-hlen-2p63.safetensors", expect: []string{`header length`, `limit exceeded`}, broken: "header length N = 2^63 (0x8000000000000000)",
			data: stFile(valid, data, 1<<63)},
		{name: "st-hlen-over-cap.safetensors", expect: []string{`header length`, `limit exceeded`}, broken: "header length N = 100 MiB + 8, over the 100 MiB cap, in a small file",
			data: stFile(valid, data, 100<<20+8)},
		{name: "st-truncated-json.safetensors", expect: []string{`tensor "b"`, `invalid JSON`}, broken: "the header JSON stops in the middle of tensor \"b\"",
			data: stFile(valid[:len(valid)-30], nil)},
		{name: "st-nested.safetensors", expect: []string{`tensor "a"`, `schema violation`}, broken: "100,000 nested JSON arrays as the value of key \"a\"",
			data: stFile(nested, nil)},
		{name: "st-array-header.safetensors", expect: []string{`header`, `schema violation`}, broken: "the header is a JSON array, not an object",
			data: stFile("["+stA[4:]+","+stB[4:]+"]", data)},
		{name: "st-metadata-nonstring.safetensors", expect: []string{`metadata "step"`, `schema violation`}, broken: "__metadata__ holds a number",
			data: stFile(stHeader(`"__metadata__":{"format":"pt","step":1000}`, stA, stB), data)},
		{name: "st-unknown-dtype.safetensors", expect: []string{`tensor "b"`, `schema violation`, `F128`}, broken: "tensor \"b\" has dtype F128",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "F32", "F128", 1)), data)},
		{name: "st-shape-negative.safetensors", expect: []string{`tensor "b"`, `shape`, `schema violation`}, broken: "tensor \"b\" has shape [-4]",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[4]", "[-4]", 1)), data)},
		{name: "st-shape-fraction.safetensors", expect: []string{`tensor "b"`, `shape`, `schema violation`}, broken: "tensor \"b\" has shape [1.5]",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[4]", "[1.5]", 1)), data)},
		{name: "st-shape-exponent.safetensors", expect: []string{`tensor "b"`, `shape`, `schema violation`}, broken: "tensor \"b\" has shape [1e30]",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[4]", "[1e30]", 1)), data)},
		{name: "st-shape-huge.safetensors", expect: []string{`tensor "b"`, `shape`, `integer overflow`}, broken: "tensor \"b\" has shape [99999999999999999999], over 2^63-1",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[4]", "[99999999999999999999]", 1)), data)},
		{name: "st-shape-overflow.safetensors", expect: []string{`tensor "b"`, `shape`, `integer overflow`}, broken: "tensor \"b\" has shape [4294967296,4294967296,4], whose product overflows int64",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[4]", "[4294967296,4294967296,4]", 1)), data)},
		{name: "st-overlap.safetensors", expect: []string{`tensor "b"`, `overlap`, `invalid data layout`}, broken: "tensor \"b\" has data_offsets [8,24], overlapping \"a\" [0,16]",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[16,32]", "[8,24]", 1)), stData(24))},
		{name: "st-gap.safetensors", expect: []string{`tensor "b"`, `gap`, `invalid data layout`}, broken: "tensor \"b\" has data_offsets [20,36]: a 4-byte gap after \"a\"",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[16,32]", "[20,36]", 1)), stData(36))},
		{name: "st-past-eof.safetensors", expect: []string{`tensor "b"`, `truncated file`}, broken: "tensor \"b\" ends at data offset 32 but the file holds 24 data bytes",
			data: stFile(valid, stData(24))},
		{name: "st-trailing.safetensors", expect: []string{`tensor "b"`, `invalid data layout`}, broken: "8 bytes after the last tensor's data",
			data: stFile(valid, stData(40))},
		{name: "st-begin-after-end.safetensors", expect: []string{`tensor "b"`, `invalid data layout`}, broken: "tensor \"b\" has data_offsets [32,16]",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[16,32]", "[32,16]", 1)), data)},
		{name: "st-size-mismatch.safetensors", expect: []string{`tensor "b"`, `size mismatch`}, broken: "tensor \"b\" is F32 [4] (16 bytes) but data_offsets [16,28] give 12",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, "[16,32]", "[16,28]", 1)), stData(28))},
		{name: "st-duplicate-name.safetensors", expect: []string{`tensor "a"`, `duplicate`, `schema violation`}, broken: "tensor \"a\" twice (the second where \"b\" was)",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, `"b"`, `"a"`, 1)), data)},
		{name: "st-bad-utf8.safetensors", expect: []string{`invalid UTF-8`, `invalid JSON`}, broken: "tensor name \"b\\xff\" is not valid UTF-8",
			data: stFile(stHeader(stMeta, stA, strings.Replace(stB, `"b"`, "\"b\xff\"", 1)), data)},
	}
	return cases
}
