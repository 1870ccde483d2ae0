package hub_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// A second load of an artifact reads its headers from the header cache:
// range-read files (raw layers, members of plain tar layers) make no
// requests after the listing, and a compressed tar layer is not streamed
// again. Entries are scoped to the registry: the same artifact in another
// registry gets nothing from them.
func TestOCIHeaderCache(t *testing.T) {
	host, tr := newRegistry(t, nil)
	other, otherTr := newRegistry(t, nil)
	for _, a := range artifacts(t) {
		t.Run(a.name, func(t *testing.T) {
			cache := hub.NewHeaderCache(t.TempDir())
			pushImage(t, host, tr, "models/"+a.name+":v1", a.image(t))
			pushImage(t, other, otherTr, "models/"+a.name+":v1", a.image(t))
			want, _ := loadLocal(t, a.local)
			load := func(host string, tr http.RoundTripper) (listed, loaded hub.Stats) {
				t.Helper()
				src, err := hub.NewOCI("oci://"+host+"/models/"+a.name+":v1",
					hub.OCIOptions{Transport: tr, Keychain: anonymous, HeaderCache: cache, ReadHeader: hub.ReadModelHeader})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if _, err := src.List(ctx); err != nil {
					t.Fatal(err)
				}
				listed = src.Stats()
				got, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(src.Jobs()))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
					t.Fatalf("inventory (-local +oci):\n%s", diff)
				}
				return listed, src.Stats()
			}
			l1, s1 := load(host, tr)
			if s1.Cached != 0 || (a.raw || a.ranged) && s1.Requests == l1.Requests {
				t.Fatalf("first load: %+v after listing %+v; want requests and nothing cached", s1, l1)
			}
			l2, s2 := load(host, tr)
			if s2.Requests != l2.Requests || s2.Cached == 0 {
				t.Errorf("second load: %d requests after the listing, %d cached bytes; want none and some", s2.Requests-l2.Requests, s2.Cached)
			}
			if l2.Bytes >= l1.Bytes && !a.raw && !a.ranged {
				t.Errorf("second listing fetched %d bytes, the first %d: the compressed layer was streamed again", l2.Bytes, l1.Bytes)
			}
			l3, s3 := load(other, otherTr)
			if s3.Cached != 0 || (a.raw || a.ranged) && s3.Requests == l3.Requests {
				t.Errorf("other registry: %d requests after the listing, %d cached bytes; want requests and nothing cached", s3.Requests-l3.Requests, s3.Cached)
			}
		})
	}
}
