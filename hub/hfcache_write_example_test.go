package hub_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weightaudit/weightaudit/hub"
)

func ExampleHFCacheWriter() {
	dir, err := os.MkdirTemp("", "hf-cache-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: "main"}, "0123456789abcdef0123456789abcdef01234567")
	if err != nil {
		panic(err)
	}
	f, err := w.Create("config.json", 6, "") // not in LFS: named by its Git blob hash
	if err != nil {
		panic(err)
	}
	f.Write([]byte("hello\n"))
	if err := f.Commit(); err != nil {
		panic(err)
	}
	if err := w.Finish(); err != nil {
		panic(err)
	}
	link, _ := os.Readlink(filepath.Join(w.Snapshot(), "config.json"))
	ref, _ := os.ReadFile(filepath.Join(dir, "models--acme--tiny", "refs", "main"))
	fmt.Println(filepath.ToSlash(link))
	fmt.Println(string(ref))
	// Output:
	// ../../blobs/ce013625030ba8dba906f756967f9e9ca394464a
	// 0123456789abcdef0123456789abcdef01234567
}
