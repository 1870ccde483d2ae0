// Package junit writes JUnit XML, the test-report format CI systems
// (GitHub Actions reporters, GitLab, Jenkins) read: one suite of test
// cases, each passing, failed or skipped.
package junit

import (
	"encoding/xml"
	"io"
)

// Suite is one test suite. Add its cases with [Suite.Add], which keeps
// the counts.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Properties []Property `xml:"properties>property"`
	Cases      []Case     `xml:"testcase"`
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

type suites struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []Suite  `xml:"testsuite"`
}

// Write writes s as a JUnit XML document.
func Write(w io.Writer, s Suite) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites{Suites: []Suite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
