// Package junit writes JUnit XML, the test-report format CI systems
// (GitHub Actions reporters, GitLab, Jenkins) read: one suite of test
// cases, each passing, failed or skipped.
//
// The document follows the Ant JUnit schema most readers accept: a
// <testsuites> root holding one <testsuite> with tests, failures, skipped,
// time (seconds) and timestamp (ISO 8601 in UTC, without a zone, as that
// schema's pattern wants) attributes; each <testcase> has a name and a
// classname. Callers name a case by a stable check id (titles change,
// CI systems track cases by name across runs) and give the model checked
// as the classname.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// TimestampLayout is how a suite's start is written: ISO 8601 in UTC with
// no zone designator, the pattern of the Ant JUnit schema.
const TimestampLayout = "2006-01-02T15:04:05"

// Suite is one test suite. Add its cases with [Suite.Add], which keeps
// the counts.
type Suite struct {
	Name     string
	Tests    int
	Failures int
	Skipped  int
	// Started and Seconds are when the run began and how long it took:
	// the suite's timestamp and time attributes (a zero Started writes
	// no timestamp).
	Started    time.Time
	Seconds    float64
	Properties []Property
	Cases      []Case
}

// Property is a name and value of the suite.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one test case: passing unless Skipped or Failure is set.
type Case struct {
	Name      string   `xml:"name,attr"`
	ClassName string   `xml:"classname,attr"`
	Skipped   *Skipped `xml:"skipped,omitempty"`
	Failure   *Failure `xml:"failure,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Skipped marks a case that did not apply.
type Skipped struct {
	Message string `xml:"message,attr"`
}

// Failure marks a failed case: a one-line message and the details.
type Failure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// FailureOf returns the failure of a case that found lines (at least
// one): its message is the only line, or counts them and quotes the
// first, "3 findings; the first: …", with what naming one (see
// textfmt.FirstOf); its text lists them all, a line each.
func FailureOf(what string, lines []string) *Failure {
	return &Failure{Message: textfmt.FirstOf(len(lines), what, lines[0]), Text: strings.Join(lines, "\n")}
}

// Add appends c to the suite and counts it.
func (s *Suite) Add(c Case) {
	switch {
	case c.Skipped != nil:
		s.Skipped++
	case c.Failure != nil:
		s.Failures++
	}
	s.Tests++
	s.Cases = append(s.Cases, c)
}

// suiteXML and suitesXML are the document's shapes.
type suiteXML struct {
	Name       string         `xml:"name,attr"`
	Tests      int            `xml:"tests,attr"`
	Failures   int            `xml:"failures,attr"`
	Skipped    int            `xml:"skipped,attr"`
	Time       string         `xml:"time,attr"`
	Timestamp  string         `xml:"timestamp,attr,omitempty"`
	Properties *propertiesXML `xml:"properties,omitempty"`
	Cases      []Case         `xml:"testcase"`
}

// propertiesXML holds a suite's properties; absent when there are none
// (an empty <properties/> breaks readers that want at least one).
type propertiesXML struct {
	Properties []Property `xml:"property"`
}

type suitesXML struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Suites   []suiteXML `xml:"testsuite"`
}

// Write writes s as a JUnit XML document.
func Write(w io.Writer, s Suite) error {
	secs := fmt.Sprintf("%.3f", max(s.Seconds, 0))
	doc := suitesXML{Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped, Time: secs,
		Suites: []suiteXML{{Name: s.Name, Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped,
			Time: secs, Cases: s.Cases}}}
	if len(s.Properties) > 0 {
		doc.Suites[0].Properties = &propertiesXML{s.Properties}
	}
	if !s.Started.IsZero() {
		doc.Suites[0].Timestamp = s.Started.UTC().Format(TimestampLayout)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// ClassName is the classname of a model's cases: its source, then its
// family when known ("Qwen3-30B-A3B-Q4_K_M/qwen3moe"), so that a CI page
// holding the reports of several artifacts groups each one's checks.
func ClassName(source, family string) string {
	if family == "" {
		return source
	}
	if source == "" {
		return family
	}
	return source + "/" + family
}
