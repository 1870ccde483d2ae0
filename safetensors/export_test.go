package safetensors

// ReadReference exports the encoding/json reference decoder to the
// black-box tests.
var ReadReference = readReference
