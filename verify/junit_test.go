package verify

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// TestWriteJUnitKeepsEveryFinding checks that every finding fails some case
// of the JUnit report, whatever files it names: one of the report's, none,
// a file outside the report's (an absent shard), or only files outside it
// (a layer's). A CI job reads the failures, not the JSON.
func TestWriteJUnitKeepsEveryFinding(t *testing.T) {
	r := &Report{Source: "src", Format: "safetensors", Verdict: "fail",
		Files: []FileCheck{{Name: "a.safetensors", Status: "bad"}, {Name: "ok.safetensors", Status: "ok"}},
		Findings: []Finding{
			{Check: "CHECK-IN-FILE", File: "a.safetensors", Message: "in a file of the report"},
			{Check: "CHECK-NO-FILE", Message: "about no file"},
			{Check: "CHECK-ABSENT", File: "missing.safetensors", Message: "a shard the index names, absent"},
			{Check: "CHECK-LAYER", Layer: "sha256:0123", Files: []string{"x.safetensors", "y.safetensors"}, Message: "a layer's files, none in the report"},
			{Check: "CHECK-LAYER-MIXED", Layer: "sha256:4567", Files: []string{"a.safetensors", "z.safetensors"}, Message: "a layer holding a file of the report"},
		}}
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("JUnit XML: %v, %d suites\n%s", err, len(doc.Suites), buf.String())
	}
	var failed []string // the failure lines, one a finding per case that has it
	failing := 0
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			failing++
			failed = append(failed, strings.Split(c.Failure.Text, "\n")...)
		}
	}
	for _, f := range r.Findings {
		n := 0
		for _, l := range failed {
			if strings.HasPrefix(l, f.Check+": ") {
				n++
			}
		}
		if n == 0 {
			t.Errorf("finding %s (file %q, files %q) fails no case:\n%s", f.Check, f.File, f.Files, buf.String())
		}
	}
	if doc.Suites[0].Failures != failing || failing != 2 {
		t.Errorf("failures attribute %d, failed cases %d; want 2 (a.safetensors and %s)", doc.Suites[0].Failures, failing, CaseOther)
	}
}
