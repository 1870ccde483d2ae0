package htmlreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestWriteBoundsFindings: a page lists at most MaxFindings findings and
// says how many more the JSON report holds.
func TestWriteBoundsFindings(t *testing.T) {
	p := &Page{Title: "t", Verdict: "fail", Headline: "FAIL"}
	for range MaxFindings + 3 {
		p.Findings = append(p.Findings, Finding{Check: "STRUCT-TENSORS", Tensor: "x", Message: "missing"})
	}
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if n := strings.Count(doc, "<td>missing</td>"); n != MaxFindings {
		t.Errorf("%d finding rows, want %d", n, MaxFindings)
	}
	if !strings.Contains(doc, "…and 3 more, in the JSON report.") {
		t.Error("the page does not say how many findings it left out")
	}
	if !strings.Contains(doc, `<span id="finding-count">5003</span>`) {
		t.Error("the page does not count every finding")
	}
}

// TestScriptHash: the CSP allows exactly the page's script, by the
// SHA-256 of its text (CSP Level 2, "hash-source"); any other inline
// script is refused by the browser (see TestBrowserBuiltin).
func TestScriptHash(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, &Page{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if !strings.Contains(doc, "<script>"+filterScript+"</script>") {
		t.Error("the script is not inserted verbatim: its hash would not match")
	}
	sum := sha256.Sum256([]byte(filterScript))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(doc, strings.ReplaceAll(strings.ReplaceAll(hash, "'", "&#39;"), "+", "&#43;")) {
		t.Errorf("the CSP does not carry the script's hash %s", hash)
	}
}
