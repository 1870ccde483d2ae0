package junit_test

import (
	"bytes"
	"encoding/xml"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/internal/junit"
)

// The document read back with encoding/xml, in the shape the Ant JUnit
// schema gives it (independent of the package's own types).
type doc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name      string `xml:"name,attr"`
		Tests     int    `xml:"tests,attr"`
		Failures  int    `xml:"failures,attr"`
		Skipped   int    `xml:"skipped,attr"`
		Time      string `xml:"time,attr"`
		Timestamp string `xml:"timestamp,attr"`
		Cases     []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Skipped   *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteReadsBack(t *testing.T) {
	started := time.Date(2026, 3, 1, 22, 4, 5, 600e6, time.FixedZone("CET", 3600))
	s := junit.Suite{Name: "weightaudit x", Started: started, Seconds: 1.23456}
	s.Add(junit.Case{Name: "FALSIFY-QM3E-001", ClassName: "m/qwen3moe"})
	s.Add(junit.Case{Name: "STRUCT-CONFIG", ClassName: "m/qwen3moe", Skipped: &junit.Skipped{Message: "not applicable"}})
	s.Add(junit.Case{Name: "FALSIFY-QM3E-002", ClassName: "m/qwen3moe", Failure: &junit.Failure{Message: "22.1 B", Text: "a <b> & c"}})
	var b bytes.Buffer
	if err := junit.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := xml.Unmarshal(b.Bytes(), &d); err != nil {
		t.Fatalf("xml.Unmarshal: %v\n%s", err, b.Bytes())
	}
	if d.Tests != 3 || d.Failures != 1 || d.Skipped != 1 || d.Time != "1.235" || len(d.Suites) != 1 {
		t.Fatalf("testsuites = %+v, want tests 3, failures 1, skipped 1, time 1.235, one suite", d)
	}
	su := d.Suites[0]
	// 22:04:05.6 at UTC+1 is 21:04:05 UTC; the Ant schema's pattern has
	// no zone and no fraction.
	if su.Tests != 3 || su.Failures != 1 || su.Skipped != 1 || su.Time != "1.235" || su.Timestamp != "2026-03-01T21:04:05" {
		t.Errorf("testsuite = %+v", su)
	}
	var names []string
	for _, c := range su.Cases {
		names = append(names, c.Name)
		if c.ClassName != "m/qwen3moe" {
			t.Errorf("case %s: classname %q", c.Name, c.ClassName)
		}
	}
	if diff := cmp.Diff([]string{"FALSIFY-QM3E-001", "STRUCT-CONFIG", "FALSIFY-QM3E-002"}, names); diff != "" {
		t.Errorf("case names (-want +got):\n%s", diff)
	}
	if c := su.Cases[1]; c.Skipped == nil || c.Skipped.Message != "not applicable" || c.Failure != nil {
		t.Errorf("skipped case read back as %+v", c)
	}
	if c := su.Cases[2]; c.Failure == nil || c.Failure.Text != "a <b> & c" || c.Skipped != nil {
		t.Errorf("failed case read back as %+v", c)
	}
}

// A suite with no start writes no timestamp (an empty one would not
// match the schema's pattern) and a time of 0.000.
func TestWriteNoStart(t *testing.T) {
	var b bytes.Buffer
	if err := junit.Write(&b, junit.Suite{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("timestamp=")) || !bytes.Contains(b.Bytes(), []byte(`time="0.000"`)) {
		t.Errorf("Write(no start) = %s", b.Bytes())
	}
}

func TestClassName(t *testing.T) {
	for _, tt := range []struct{ source, family, want string }{
		{"Qwen3-30B-A3B-Q4_K_M", "qwen3moe", "Qwen3-30B-A3B-Q4_K_M/qwen3moe"},
		{"model.gguf", "", "model.gguf"},
		{"", "llama", "llama"},
	} {
		if got := junit.ClassName(tt.source, tt.family); got != tt.want {
			t.Errorf("ClassName(%q, %q) = %q, want %q", tt.source, tt.family, got, tt.want)
		}
	}
}

// A suite without properties has no <properties> element.
func TestWriteNoProperties(t *testing.T) {
	var b bytes.Buffer
	s := junit.Suite{Name: "x"}
	s.Add(junit.Case{Name: "A"})
	if err := junit.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("properties")) {
		t.Errorf("Write(no properties) = %s", b.Bytes())
	}
	b.Reset()
	s.Properties = []junit.Property{{Name: "verdict", Value: "pass"}}
	if err := junit.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte(`<properties>`)) || !bytes.Contains(b.Bytes(), []byte(`<property name="verdict" value="pass"></property>`)) {
		t.Errorf("Write(a property) = %s", b.Bytes())
	}
}

func TestFailureOf(t *testing.T) {
	one := junit.FailureOf("problem", []string{"shard 3 missing"})
	if one.Message != "shard 3 missing" || one.Text != "shard 3 missing" {
		t.Errorf("FailureOf(one line) = %+v", one)
	}
	three := junit.FailureOf("finding", []string{"a", "b", "c"})
	if three.Message != "3 findings; the first: a" || three.Text != "a\nb\nc" {
		t.Errorf("FailureOf(three lines) = %+v", three)
	}
}
