package htmlreport_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Markup planted in the names a report repeats: a tensor's and the
// source's. Run, either would set window.pwned; the image would also
// request a file.
const (
	hostileTensor = `<script>window.pwned=1</script>model.layers.0.mlp.gate.weight`
	hostileSource = `<img src=x onerror="window.pwned=2">`
	renamed       = "model.layers.0.mlp.gate.weight"
)

func auditBuiltin(t *testing.T, name string) *audit.Report {
	t.Helper()
	l, err := synth.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, l.Source())
}

func run(t *testing.T, src hub.Source) *audit.Report {
	t.Helper()
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithPartialFiles())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r, err := audit.Run(ck, audit.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

// auditHostile audits the built-in layout served under hostileSource,
// with the router of layer 0 renamed to hostileTensor in its shard.
func auditHostile(t *testing.T) *audit.Report {
	t.Helper()
	l, err := synth.Builtin("safetensors")
	if err != nil {
		t.Fatal(err)
	}
	src := hub.NewMem(hostileSource)
	done := false
	for _, f := range l.Files {
		head := f.Head
		if strings.HasSuffix(f.Name, ".safetensors") && bytes.Contains(head, []byte(`"`+renamed+`"`)) {
			st, err := safetensors.Read(&hub.Virtual{Head: head, Len: f.Size}, f.Size)
			if err != nil {
				t.Fatal(err)
			}
			ts := slices.Clone(st.Tensors)
			for i := range ts {
				if ts[i].Name == renamed {
					ts[i].Name = hostileTensor
					done = true
				}
			}
			h, data, err := safetensors.EncodeHeader(st.Metadata, ts)
			if err != nil {
				t.Fatal(err)
			}
			head, f.Size = h, int64(len(h))+data
		}
		src.Add(f.Name, &hub.Virtual{Head: head, Len: f.Size}, f.Size)
	}
	if !done {
		t.Fatalf("no tensor %s in the built-in layout", renamed)
	}
	return run(t, src)
}

// TestWriteHTMLEscapes checks the document itself: the planted markup
// appears only escaped.
func TestWriteHTMLEscapes(t *testing.T) {
	r := auditHostile(t)
	if !slices.ContainsFunc(r.Findings, func(f audit.Finding) bool { return f.Tensor == hostileTensor }) {
		t.Fatalf("no finding names %q; findings: %v", hostileTensor, r.Findings)
	}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, raw := range []string{"<script>window.pwned", "<img src=x", `onerror="window`} {
		if strings.Contains(doc, raw) {
			t.Errorf("the document holds %q unescaped", raw)
		}
	}
	for _, esc := range []string{"&lt;script&gt;window.pwned=1&lt;/script&gt;", "&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;"} {
		if !strings.Contains(doc, esc) {
			t.Errorf("the document lacks the escaped %q", esc)
		}
	}
	if n := strings.Count(doc, "<script"); n != 1 {
		t.Errorf("%d <script elements, want the page's one", n)
	}
}
