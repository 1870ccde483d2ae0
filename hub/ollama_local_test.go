package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// noNetwork is a transport that fails the test on any request: a source
// served by the local store must not touch the network.
type noNetwork struct{ tb testing.TB }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.tb.Errorf("request %s %s: the local Ollama store should have served it", r.Method, r.URL)
	return nil, errors.New("no network in this test")
}

// storeModel writes img into the Ollama store at dir as Ollama lays a
// pulled model out: its manifest at manifests/HOST/NS/MODEL/TAG and each
// blob (config and layers) at blobs/sha256-HEX. It returns the manifest's
// path.
func storeModel(tb testing.TB, dir, host, ns, model, tag string, img v1.Image) string {
	tb.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		tb.Fatal(err)
	}
	mp := filepath.Join(dir, "manifests", host, ns, model, tag)
	writeFile(tb, mp, raw)
	cfgName, err := img.ConfigName()
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, blobPath(dir, cfgName), cfg)
	layers, err := img.Layers()
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			tb.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		writeFile(tb, blobPath(dir, d), b)
	}
	return mp
}

func blobPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, "blobs", "sha256-"+d.Hex)
}

func writeFile(tb testing.TB, p string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// inspectJSON loads src and renders the inspect report as JSON.
func inspectJSON(tb testing.TB, src hub.Source) []byte {
	tb.Helper()
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		tb.Fatalf("Load(%s): %v", src, err)
	}
	var buf bytes.Buffer
	if err := audit.NewInspectReport(ck).WriteJSON(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestOllamaLocalStore pushes each test artifact to the in-process
// registry and writes the same manifest and blobs into a local Ollama
// store, then reads the model by its Ollama name both ways: from the store
// no request is made (the transport fails the test on any), and the
// listing, the digests and the inspect report are the same as from the
// registry.
func TestOllamaLocalStore(t *testing.T) {
	host, tr := newRegistry(t, nil)
	dir := t.TempDir()
	ctx := context.Background()
	for _, a := range artifacts(t) {
		t.Run(a.name, func(t *testing.T) {
			img := a.image(t)
			pushImage(t, host, tr, "library/"+a.name+":v1", img)
			storeModel(t, dir, host, "library", a.name, "v1", img)
			spec := "ollama://" + host + "/library/" + a.name + ":v1"

			remote, err := hub.NewOllama(spec, hub.OCIOptions{Transport: tr, Keychain: anonymous})
			if err != nil {
				t.Fatal(err)
			}
			local, err := hub.NewOllama(spec, hub.OCIOptions{Transport: noNetwork{t}, Keychain: anonymous, OllamaModels: dir})
			if err != nil {
				t.Fatal(err)
			}
			want, err := remote.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := local.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List() from the store (-registry +store):\n%s", diff)
			}
			for _, f := range want {
				wd, wok := remote.Digest(f.Name)
				gd, gok := local.Digest(f.Name)
				if gd != wd || gok != wok {
					t.Errorf("Digest(%q) from the store = %q, %v, want %q, %v", f.Name, gd, gok, wd, wok)
				}
			}
			if diff := cmp.Diff(string(inspectJSON(t, remote)), string(inspectJSON(t, local))); diff != "" {
				t.Errorf("inspect report from the store (-registry +store):\n%s", diff)
			}
			if st := local.Stats(); st != (hub.Stats{}) {
				t.Errorf("Stats() from the store = %+v, want none", st)
			}
			if a.raw || a.ranged {
				// Whole files read through the store equal the originals.
				for n, b := range a.local {
					data, err := hub.ReadFile(ctx, local, n, 1<<30)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(data, b) {
						t.Errorf("ReadFile(%q) from the store differs from the file", n)
					}
				}
			}
		})
	}
}

// TestOllamaLocalStoreErrors checks that a damaged store is an error
// naming the manifest and the blob, never a silent download: the
// transport fails the test on any request.
func TestOllamaLocalStoreErrors(t *testing.T) {
	a := artifact(t, "ollama")
	img := a.image(t)
	model := img
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	modelDigest, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	templateDigest, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		damage  func(dir, manifest string) error
		wantErr []error
		wantMsg []string // "$BLOB" and "$MANIFEST" stand for the paths
	}{
		{
			name:    "missing model blob",
			damage:  func(dir, _ string) error { return os.Remove(blobPath(dir, modelDigest)) },
			wantErr: []error{hub.ErrBadStore, fs.ErrNotExist},
			wantMsg: []string{"$BLOB", "$MANIFEST", "missing"},
		},
		{
			name: "model blob of another size",
			damage: func(dir, _ string) error {
				f, err := os.OpenFile(blobPath(dir, modelDigest), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = f.Write([]byte("extra"))
				return err
			},
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$BLOB", "$MANIFEST", "bytes"},
		},
		{
			name:    "model blob is a folder",
			damage:  func(dir, _ string) error { p := blobPath(dir, modelDigest); os.Remove(p); return os.Mkdir(p, 0o755) },
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$BLOB", "$MANIFEST", "not a regular file"},
		},
		{
			// The registry's cap (4 MiB) holds for the store's copy too:
			// valid JSON padded with spaces to one byte over.
			name: "manifest over 4 MiB",
			damage: func(_, manifest string) error {
				data, err := os.ReadFile(manifest)
				if err != nil {
					return err
				}
				pad := bytes.Repeat([]byte(" "), 4<<20+1-len(data))
				return os.WriteFile(manifest, append(data, pad...), 0o644)
			},
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$MANIFEST", "over 4194304 bytes"},
		},
		{
			name:    "manifest not JSON",
			damage:  func(_, manifest string) error { return os.WriteFile(manifest, []byte("{not json"), 0o644) },
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$MANIFEST", "json"},
		},
		{
			name: "manifest with a bad digest",
			damage: func(_, manifest string) error {
				return os.WriteFile(manifest, []byte(`{"schemaVersion":2,"layers":[{"mediaType":"`+hub.MediaOllamaModel+`","size":4}]}`), 0o644)
			},
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$MANIFEST", "digest"},
		},
		{
			name: "manifest is an index",
			damage: func(_, manifest string) error {
				return os.WriteFile(manifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), 0o644)
			},
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$MANIFEST", "index"},
		},
		{
			// A manifest that may be there but cannot be looked at is not
			// taken for a missing one.
			name: "manifest cannot be looked at",
			damage: func(_, manifest string) error {
				if err := os.Remove(manifest); err != nil {
					return err
				}
				return os.Symlink(manifest, manifest) // a loop
			},
			wantErr: []error{hub.ErrBadStore},
			wantMsg: []string{"$MANIFEST"},
		},
		{
			name: "manifest without model layers",
			damage: func(_, manifest string) error {
				return os.WriteFile(manifest, []byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.license","size":1,"digest":"`+templateDigest.String()+`"}]}`), 0o644)
			},
			wantErr: []error{hub.ErrNoModelLayers},
			wantMsg: []string{"$MANIFEST", "application/vnd.ollama.image.license"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mp := storeModel(t, dir, hub.OllamaRegistry, "library", "tiny", "latest", model)
			if err := tt.damage(dir, mp); err != nil {
				t.Fatal(err)
			}
			src, err := hub.NewOllama("ollama://tiny", hub.OCIOptions{Transport: noNetwork{t}, Keychain: anonymous, OllamaModels: dir})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("List() = %v, want %v", err, want)
				}
			}
			if err == nil {
				return
			}
			t.Logf("%v", err)
			for _, m := range tt.wantMsg {
				m = strings.NewReplacer("$BLOB", blobPath(dir, modelDigest), "$MANIFEST", mp).Replace(m)
				if !strings.Contains(err.Error(), m) {
					t.Errorf("List() error %q does not say %q", err, m)
				}
			}
		})
	}

	// A blob of a layer the audit does not read (the template) may be
	// missing.
	dir := t.TempDir()
	storeModel(t, dir, hub.OllamaRegistry, "library", "tiny", "latest", model)
	if err := os.Remove(blobPath(dir, templateDigest)); err != nil {
		t.Fatal(err)
	}
	src, err := hub.NewOllama("ollama://tiny", hub.OCIOptions{Transport: noNetwork{t}, Keychain: anonymous, OllamaModels: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Load(context.Background(), src); err != nil {
		t.Errorf("Load without the template's blob: %v", err)
	}

	// A blob that changes after the listing is caught when it is opened.
	if err := os.WriteFile(blobPath(dir, modelDigest), []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Open(context.Background(), "model.gguf"); !errors.Is(err, hub.ErrBadStore) {
		t.Errorf("Open(model.gguf) of a blob now 4 bytes = %v, want ErrBadStore", err)
	}
}

// TestOllamaLocalStoreFallback checks that a model missing from the store,
// or a store that does not exist, is read from the registry, and that a
// model in the store is read from there even though the registry has it.
func TestOllamaLocalStoreFallback(t *testing.T) {
	host, tr := newRegistry(t, nil)
	a := artifact(t, "ollama")
	img := a.image(t)
	pushImage(t, host, tr, "library/tiny:latest", img)
	withModel := t.TempDir()
	storeModel(t, withModel, host, "library", "tiny", "latest", img)
	other := t.TempDir()
	storeModel(t, other, host, "library", "else", "latest", img)

	tests := []struct {
		name      string
		store     string
		spec      string
		wantLocal bool
	}{
		{"no store", "", "ollama://" + host + "/library/tiny", false},
		{"store folder missing", filepath.Join(other, "nope"), "ollama://" + host + "/library/tiny", false},
		{"model not in the store", other, "ollama://" + host + "/library/tiny", false},
		{"other tag in the store", withModel, "ollama://" + host + "/library/tiny:v2", false},
		{"model in the store", withModel, "ollama://" + host + "/library/tiny", true},
		{"explicit tag in the store", withModel, "ollama://" + host + "/library/tiny:latest", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "other tag in the store" {
				pushImage(t, host, tr, "library/tiny:v2", img)
			}
			src, err := hub.NewOllama(tt.spec, hub.OCIOptions{Transport: tr, Keychain: anonymous, OllamaModels: tt.store})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := checkpoint.Load(context.Background(), src); err != nil {
				t.Fatal(err)
			}
			local := src.Stats().Requests == 0
			if local != tt.wantLocal {
				t.Errorf("read from the store = %v (%+v), want %v", local, src.Stats(), tt.wantLocal)
			}
			if p := hub.Path(src, "model.gguf"); local != strings.HasPrefix(p, tt.store+string(filepath.Separator)) || tt.store == "" && p != tt.spec+"/model.gguf" {
				t.Errorf("Path(model.gguf) = %q", p)
			}
		})
	}
}

// TestResolveOllamaStore checks that Resolve finds the store through
// OLLAMA_MODELS and reads a model there with the registry's port closed.
func TestResolveOllamaStore(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	a := artifact(t, "ollama")
	storeModel(t, dir, closed, "library", "tiny", "latest", a.image(t))
	t.Setenv("OLLAMA_MODELS", dir)

	src, focus, err := hub.Resolve("ollama://" + closed + "/library/tiny")
	if err != nil {
		t.Fatal(err)
	}
	if focus != "" {
		t.Errorf("focus = %q, want none", focus)
	}
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatalf("Load with the registry's port closed: %v", err)
	}
	want, _ := loadLocal(t, a.local)
	if diff := cmp.Diff(want.Inventory(), ck.Inventory()); diff != "" {
		t.Errorf("inventory from the store (-local +store):\n%s", diff)
	}
	if st, _ := hub.SourceStats(src); st != (hub.Stats{}) {
		t.Errorf("Stats() = %+v, want no traffic", st)
	}

	// Without the model in the store, the closed port is what fails.
	src, _, err = hub.Resolve("ollama://" + closed + "/library/other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(context.Background()); err == nil || !strings.Contains(err.Error(), closed) {
		t.Errorf("List() of a model not in the store = %v, want an error reaching %s", err, closed)
	}
}

// TestOllamaModelsDir checks where the store is looked for.
func TestOllamaModelsDir(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"OLLAMA_MODELS", map[string]string{"OLLAMA_MODELS": "/srv/models", "HOME": "/home/u"}, "/srv/models"},
		{"default", map[string]string{"HOME": "/home/u"}, filepath.Join("/home/u", ".ollama", "models")},
		{"windows profile", map[string]string{"USERPROFILE": `C:\Users\u`}, filepath.Join(`C:\Users\u`, ".ollama", "models")},
		{"no home", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hub.OllamaModelsDir(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("OllamaModelsDir(%v) = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
}
