package safetensors

// ReadReference exports the encoding/json reference decoder to the
// black-box tests.
var ReadReference = readReference

// ReadIndexWindow exports ReadIndex with windows of a given size, so that
// tests cross window boundaries with small documents.
var ReadIndexWindow = readIndex
