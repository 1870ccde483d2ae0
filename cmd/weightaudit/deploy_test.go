package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dockerStage is one FROM … stage of a Dockerfile: its base image, its
// name, and its instructions (continuation lines joined).
type dockerStage struct {
	base, name string
	lines      []string
}

// parseDockerfile splits a Dockerfile into stages, dropping comments and
// joining lines continued with a backslash.
func parseDockerfile(t *testing.T, text string) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var cont string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, cont = cont+line, ""
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := dockerStage{base: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %q", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	return stages
}

// The image recipe, linted as hadolint would (hadolint is not packaged
// in Debian): a golang build stage that builds a static, trimmed binary
// with the README's command; a final distroless or scratch stage run as a
// non-root user with weightaudit as its entry point; no ADD of a remote
// URL, no image without a tag, no latest.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(b))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[1]
	for _, s := range stages {
		if !strings.Contains(s.base, ":") || strings.HasSuffix(s.base, ":latest") {
			t.Errorf("FROM %s: pin a tag other than latest", s.base)
		}
		for _, l := range s.lines {
			if regexp.MustCompile(`(?i)^ADD\s.*https?://`).MatchString(l) {
				t.Errorf("ADD of a remote URL: %q", l)
			}
		}
	}
	if !strings.HasPrefix(build.base, "golang:") || build.name == "" {
		t.Errorf("build stage FROM %s AS %q, want a named golang stage", build.base, build.name)
	}
	var goBuild string
	for _, l := range build.lines {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			goBuild = strings.TrimPrefix(l, "RUN ")
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/weightaudit"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build command %q lacks %s", goBuild, want)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if goBuild == "" || !strings.Contains(string(readme), "`"+goBuild+"`") {
		t.Errorf("README does not give the image's build command %q", goBuild)
	}
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") && final.base != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch", final.base)
	}
	var user, entry string
	copied := false
	for _, l := range final.lines {
		f := strings.Fields(l)
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.TrimSpace(strings.TrimPrefix(l, f[0]))
		case "COPY":
			copied = copied || strings.Contains(l, "--from="+build.name)
		}
	}
	if u, _, _ := strings.Cut(user, ":"); user == "" || u == "root" || u == "0" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if !regexp.MustCompile(`^\["[^"]*/weightaudit"\]$`).MatchString(entry) {
		t.Errorf("ENTRYPOINT %s, want the exec form running weightaudit", entry)
	}
	if !copied {
		t.Error("the final stage copies nothing from the build stage")
	}
}

// The Indexed Job example: each pod's part comes from the index
// Kubernetes sets, and JOB_COMPLETION_COUNT equals the Job's completions
// (a count that disagrees would leave parts unverified or overlapping).
func TestKubernetesExample(t *testing.T) {
	b, err := os.ReadFile("../../examples/kubernetes/verify-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	completions := regexp.MustCompile(`(?m)^  completions: (\d+)$`).FindStringSubmatch(y)
	count := regexp.MustCompile(`(?s)name: JOB_COMPLETION_COUNT[^\n]*\n\s+value: "(\d+)"`).FindStringSubmatch(y)
	if completions == nil || count == nil || completions[1] != count[1] {
		t.Errorf("completions %v, JOB_COMPLETION_COUNT %v: want both, equal", completions, count)
	}
	for _, want := range []string{"kind: Job", "completionMode: Indexed", "- verify", "- --record"} {
		if !strings.Contains(y, want) {
			t.Errorf("verify-job.yaml lacks %q", want)
		}
	}
	if strings.Contains(y, "- --shard") {
		t.Error("verify-job.yaml gives --shard: the pods' parts should come from the Job's index")
	}
	m, err := os.ReadFile("../../examples/kubernetes/verify-merge-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := len(regexp.MustCompile(`/out/part-\d+\.json`).FindAllString(string(m), -1))
	if !strings.Contains(string(m), "- --merge") || completions == nil || strconv.Itoa(n) != completions[1] {
		t.Errorf("verify-merge-job.yaml merges %d parts, want --merge of the %v parts", n, completions)
	}
}
