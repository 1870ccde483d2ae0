package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// A file that is plainly not safetensors says what it is, still wrapping
// the reader's located error; a folder of pickle checkpoints says they are
// not read (no model: exit 3).
func TestNotAModelFile(t *testing.T) {
	huge := make([]byte, 64)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	damaged := make([]byte, 64) // a length prefix, then '{': a damaged safetensors header
	binary.LittleEndian.PutUint64(damaged, 1<<62)
	damaged[8] = '{'
	tests := []struct {
		name string
		data []byte
		want string // "" for the reader's error alone
	}{
		{"random", append(huge, "random bytes"...), "it is not a safetensors or GGUF file"},
		{"gguf", append([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 40)...), "it is a GGUF file (name it .gguf)"},
		{"zip", append([]byte("PK\x03\x04"), make([]byte, 40)...), "it is a zip archive, as PyTorch's torch.save writes"},
		{"pickle", append([]byte{0x80, 0x02}, make([]byte, 40)...), "it is a Python pickle"},
		{"damaged safetensors", damaged, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := hub.NewMem("m")
			src.Add("model.safetensors", bytes.NewReader(tt.data), int64(len(tt.data)))
			_, err := checkpoint.Load(context.Background(), src)
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Load = %v, want a located safetensors error", err)
			}
			if got := strings.Contains(err.Error(), "not a safetensors file"); got != (tt.want != "") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want %q", err, tt.want)
			}
		})
	}

	src := hub.NewMem("m")
	src.Add("pytorch_model.bin", bytes.NewReader([]byte{0x80, 0x02}), 2)
	src.Add("config.json", strings.NewReader("{}"), 2)
	_, err := checkpoint.Load(context.Background(), src)
	if !errors.Is(err, checkpoint.ErrNoModel) || !strings.Contains(err.Error(), "pytorch_model.bin: PyTorch pickle checkpoints are not read") {
		t.Errorf("Load(pickle folder) = %v, want ErrNoModel naming the pickle file", err)
	}
}
