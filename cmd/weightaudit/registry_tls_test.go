package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/weightaudit/weightaudit/hub"
)

// registryAt starts go-containerregistry's in-process registry on
// 127.0.0.2, which the whole loopback network answers on Linux but which
// neither go-containerregistry (it names localhost, 127.0.0.1, ::1,
// *.local and the private ranges) nor hub.ParseOCI take for a local
// registry: it is reached over HTTPS unless told otherwise, as a remote
// one is. With useTLS it serves HTTPS with httptest's self-signed
// certificate. It returns host:port and a pushed model's SOURCE.
func registryAt(tb testing.TB, useTLS bool) (host, src string) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		tb.Skipf("no 127.0.0.2 here: %v", err)
	}
	tb.Setenv("DOCKER_CONFIG", tb.TempDir()) // no credentials
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Listener.Close()
	srv.Listener = l
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	if useTLS {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(tb, net.ParseIP("127.0.0.2"))}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	host = l.Addr().String()
	// The test pushes with the client that trusts the certificate.
	pushModel(tb, host, "models/tiny:f16", hub.MediaDockerConfigV01,
		[]testLayer{{data: readTiny(tb, "gguf/tiny-f16.gguf"), mt: hub.MediaDockerGGUF}},
		remote.WithTransport(srv.Client().Transport))
	return host, "oci://" + host + "/models/tiny:f16"
}

// selfSigned returns a certificate for ip signed by its own key, as a
// registry set up by hand has: no client trusts it unless told to.
func selfSigned(tb testing.TB, ip net.IP) tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "weightaudit test registry"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{ip},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// --insecure gets past a registry's self-signed certificate, and without
// it the run fails naming the registry and the flag; --plain-http reaches
// a registry that speaks plain HTTP, and without it the run fails naming
// the registry and that flag. Neither flag stands in for the other.
func TestRegistryTLSFlags(t *testing.T) {
	tlsHost, tlsSrc := registryAt(t, true)
	plainHost, plainSrc := registryAt(t, false)
	tests := []struct {
		name  string
		src   string
		flags []string
		ok    bool
		want  []string // in stderr when it fails
	}{
		{"tls", tlsSrc, nil, false, []string{tlsHost, "certificate", "--insecure skips"}},
		{"tls-insecure", tlsSrc, []string{"--insecure"}, true, nil},
		{"tls-plain-http", tlsSrc, []string{"--plain-http"}, false, []string{tlsHost}},
		{"plain", plainSrc, nil, false, []string{plainHost, "give --plain-http"}},
		{"plain-plain-http", plainSrc, []string{"--plain-http"}, true, nil},
		{"plain-insecure", plainSrc, []string{"--insecure"}, false, []string{plainHost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"inspect", tt.src, "--json", "--no-cache", "--retries", "0"}, tt.flags...)
			stdout, stderr, code := cli(t, args...)
			if tt.ok {
				if code != 0 || !strings.Contains(stdout, `"tensors"`) {
					t.Errorf("%v: exit %d: %s", args, code, stderr)
				}
				return
			}
			if code == 0 {
				t.Fatalf("%v: exit 0, want a failure", args)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%v: stderr %q, want %q in it", args, stderr, w)
				}
			}
		})
	}
}

// The hint names a flag only for a registry SOURCE: the flags do not
// reach the Hub, whose certificate failures are left as they are.
func TestTLSHintOnlyForRegistries(t *testing.T) {
	cert := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name string
		err  error
		want string // in the message; "" for none added
	}{
		{"oci", fmt.Errorf("oci://r.example/m:t: authenticate: %w", cert), "--insecure"},
		{"ollama", fmt.Errorf("ollama://r.example/m: manifest: %w", cert), "--insecure"},
		{"oci-http", errors.New(`oci://r.example/m:t: authenticate: Get "https://r.example/v2/": http: server gave HTTP response to HTTPS client`), "--plain-http"},
		{"hub", fmt.Errorf("hf://o/r: listing: %w", cert), ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tlsHint(tt.err)
			if tt.err == nil {
				if got != nil {
					t.Errorf("tlsHint(nil) = %v", got)
				}
				return
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("tlsHint(%v) = %v, which does not wrap it", tt.err, got)
			}
			if tt.want == "" && got.Error() != tt.err.Error() || tt.want != "" && !strings.Contains(got.Error(), tt.want) {
				t.Errorf("tlsHint(%v) = %q, want %q in it", tt.err, got, tt.want)
			}
		})
	}
}
