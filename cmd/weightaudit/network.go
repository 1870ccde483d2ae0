package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/termui"
)

// The default time limits of a run's network work (--timeout), by what the
// command reads. Listings and headers are a few requests whatever the
// model's size: on a working connection they take seconds, so a run still
// going after five minutes is stuck, and a CI job should hear so (exit 2)
// rather than hold its runner until the job's own limit. Reading tensor
// data (verify and diff read every byte) takes as long as the model is
// large: a limit of minutes would fail every verify of a large model, a
// failure that retrying cannot cure; six hours is the longest a GitHub
// Actions job may run, so no CI run is cut by it that its platform would
// not cut anyway.
const (
	defaultHeaderTimeout = 5 * time.Minute
	defaultDataTimeout   = 6 * time.Hour
	defaultRetries       = 5
)

// timeoutEnv is the environment variable that gives --timeout when the
// flag is not given.
const timeoutEnv = "WEIGHTAUDIT_TIMEOUT"

// timeoutValue is the value of --timeout: a duration ("90s", "10m") or a
// whole number of seconds ("300"); 0 for none. Its value counts only when
// the flag is given (see runTimeout): the default depends on the command,
// and the help says so rather than print one.
type timeoutValue time.Duration

func (v *timeoutValue) String() string {
	if *v == 0 {
		return "" // no "(default 0s)" in the help
	}
	return time.Duration(*v).String()
}

func (v *timeoutValue) Type() string { return "duration" }

func (v *timeoutValue) Set(s string) error {
	d, err := parseTimeout(s)
	if err != nil {
		return err
	}
	*v = timeoutValue(d)
	return nil
}

// parseTimeout parses a duration or a whole number of seconds, not
// negative.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseInt(s, 10, 64)
		if nerr != nil || n > int64(time.Duration(1<<63-1)/time.Second) {
			return 0, fmt.Errorf("%q: expected a duration such as 90s or 10m, or a number of seconds", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: negative", s)
	}
	return d, nil
}

// addNetworkFlags adds the persistent flags that bound a run's network
// work to the root command.
func addNetworkFlags(root *cobra.Command) {
	var timeout timeoutValue
	f := root.PersistentFlags()
	f.Var(&timeout, "timeout",
		"time limit of the network work on a remote SOURCE (Hub, registry), after which the run fails with exit 2: a duration (90s, 10m) or seconds, 0 for none; "+
			"default $"+timeoutEnv+", else "+shortDuration(defaultHeaderTimeout)+" for inspect and audit, which read headers only, and "+
			shortDuration(defaultDataTimeout)+" for commands that read tensor data (verify, diff, compare, dump, spotcheck, audit --spotcheck); local files are never timed")
	f.Int("retries", defaultRetries,
		"times a failed request to a remote SOURCE is retried (429, 5xx, connection reset, body cut short), each said on stderr; 0 for none")
	f.Bool("insecure", false,
		"accept any TLS certificate from an OCI registry (oci://, ollama://): for a registry with a self-signed certificate you trust")
	f.Bool("plain-http", false,
		"reach an OCI registry (oci://, ollama://) over plain HTTP instead of HTTPS (localhost and 127.0.0.1 always may)")
}

// shortDuration renders 5m0s as 5m and 6h0m0s as 6h.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// networkOptions returns the options that bound the network work of the
// remote sources cmd resolves: the deadline --timeout sets (counted from
// now), the retries, a line on stderr for each retry, and how registries
// are reached (--insecure, --plain-http). A bad --retries
// or $WEIGHTAUDIT_TIMEOUT is a usage error.
func networkOptions(cmd *cobra.Command) ([]hub.ResolveOption, error) {
	limit, err := runTimeout(cmd)
	if err != nil {
		return nil, err
	}
	retries := defaultRetries
	if f := cmd.Flags().Lookup("retries"); f != nil {
		if retries, err = strconv.Atoi(f.Value.String()); err != nil || retries < 0 {
			return nil, usageError(cmd, fmt.Sprintf("--retries %s: expected a count, 0 for none", f.Value))
		}
	}
	opts := []hub.ResolveOption{hub.WithRetries(retries), hub.WithRetryNotify(retryNotice(cmd.ErrOrStderr()))}
	if on, _ := cmd.Flags().GetBool("insecure"); on {
		opts = append(opts, hub.WithSkipTLSVerify())
	}
	if on, _ := cmd.Flags().GetBool("plain-http"); on {
		opts = append(opts, hub.WithPlainHTTP())
	}
	if limit > 0 {
		opts = append(opts, hub.WithDeadline(time.Now().Add(limit)))
	}
	return opts, nil
}

// runTimeout returns the time limit of cmd's network work: --timeout when
// given, else $WEIGHTAUDIT_TIMEOUT when set, else the default for what cmd
// reads; 0 for none.
func runTimeout(cmd *cobra.Command) (time.Duration, error) {
	if f := cmd.Flags().Lookup("timeout"); f != nil && f.Changed {
		return time.Duration(*f.Value.(*timeoutValue)), nil
	}
	if v := strings.TrimSpace(os.Getenv(timeoutEnv)); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			return 0, usageError(cmd, timeoutEnv+"="+err.Error())
		}
		return d, nil
	}
	if headerOnly(cmd) {
		return defaultHeaderTimeout, nil
	}
	return defaultDataTimeout, nil
}

// headerOnly reports whether cmd reads nothing of a source but its
// listing and headers, whose network work does not grow with the model:
// inspect, and audit without --spotcheck.
func headerOnly(cmd *cobra.Command) bool {
	switch cmd.Name() {
	case "inspect", "plan":
		return true
	case "audit":
		spot, _ := cmd.Flags().GetBool("spotcheck")
		return !spot
	}
	return false
}

// retryNotice returns what writes a line to w for each retry, e.g.
// "retrying GET https://huggingface.co/api/models/o/r/revision/main in
// 4 s (attempt 2/6): 503 Service Unavailable"; on a terminal the line
// takes the place of the progress bar's, which is drawn again below it
// (termui.Println). It is safe for concurrent use: diff resolves two
// sources, each retrying on its own. URLs are written without their
// query, where signed storage URLs carry credentials; a token is sent in a
// header and never written.
func retryNotice(w io.Writer) func(hub.Retry) {
	return func(r hub.Retry) { termui.Println(w, r.String()) }
}

// tlsHint returns err with the flag that may get past it when it is an
// OCI registry's certificate that did not verify (--insecure) or a
// registry that answered HTTPS in plain HTTP (--plain-http); err itself
// otherwise, and for the Hub, which the flags do not touch. The host is
// already in err: the URL that failed.
func tlsHint(err error) error {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
	)
	switch {
	case err == nil:
		return nil
	case !strings.Contains(err.Error(), "oci://") && !strings.Contains(err.Error(), "ollama://"):
		return err
	case errors.As(err, &verify), errors.As(err, &authority), errors.As(err, &hostname),
		strings.Contains(err.Error(), "tls: failed to verify certificate"):
		return fmt.Errorf("%w\n(for a registry whose certificate you trust, --insecure skips its verification)", err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w\n(for a registry that speaks plain HTTP, give --plain-http)", err)
	}
	return err
}
