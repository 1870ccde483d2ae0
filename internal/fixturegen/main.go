// Command fixturegen writes the small test fixtures committed under the
// repository's testdata folder:
//
//   - testdata/tiny: real checkpoints of [qwen3.TinyMoE] with
//     deterministic pseudo-random weights, as Hugging Face safetensors (F32
//     and BF16, two shards with an index) and as GGUF (F32, F16, Q8_0, and
//     Q8_0 split in two parts), every format backed by the same float32
//     values; and MANIFEST, the tensor counts, parameters and bytes the
//     tests expect plus the size and sha256 of every file.
//   - testdata/bad: the hostile corpus, malformed safetensors and GGUF files
//     each made by breaking one thing in a valid small file, and EXPECT,
//     what the error for each must say.
//
// Usage:
//
//	fixturegen -out DIR
//
// go generate runs it from this folder with -out ../../testdata. It owns
// DIR/tiny and DIR/bad entirely: they are rebuilt from scratch, so files it
// no longer writes disappear, and it leaves the rest of DIR alone. The
// output is byte-for-byte deterministic; CI regenerates it and fails on any
// difference.
package main

//go:generate go run . -out ../../testdata

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
)

// owned lists the folders under -out that fixturegen writes.
var owned = []string{"tiny", "bad"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("fixturegen: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// run parses args and generates the fixtures.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fixturegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the testdata `folder` to write tiny/ and bad/ into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("usage: fixturegen -out DIR")
	}
	return generate(ctx, *out)
}

// generate writes the owned folders into a fresh temporary folder inside
// out, then swaps each in for the old one, so a failed run leaves the
// committed fixtures as they were.
func generate(ctx context.Context, out string) (err error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(out, ".fixturegen-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); err == nil {
			err = rerr
		}
	}()
	for _, d := range owned {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	if err := writeTiny(ctx, filepath.Join(tmp, "tiny")); err != nil {
		return fmt.Errorf("tiny: %w", err)
	}
	if err := writeBad(filepath.Join(tmp, "bad")); err != nil {
		return fmt.Errorf("bad: %w", err)
	}
	for _, d := range owned {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(tmp, d), filepath.Join(out, d)); err != nil {
			return err
		}
	}
	return nil
}
