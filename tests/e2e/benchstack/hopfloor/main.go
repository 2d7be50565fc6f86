// Command hopfloor is the architectural floor of an edge → backend → upstream
// chain: an HTTP front that forwards each request body over one mTLS gRPC hop
// (TLS 1.3, client certificates, an in-memory CA) to a back process that
// posts it to the upstream over HTTP and returns the reply. No auth, no
// parsing, no logging: what two hops cost on this machine, for comparison
// with a gateway that has the same shape.
//
//	hopfloor -upstream http://127.0.0.1:PORT -addr-file front.addr
//
// runs the back half as a child process (same binary, -back) and serves the
// front on a free loopback port. With -answer the back half calls no
// upstream and answers every call with a fixed secret-shaped JSON body
// (the one the fake upstream serves on GET /secret): the floor of the REST
// secret read's shape, client → HTTP process → one mTLS gRPC hop →
// handler (ADR 0062).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
)

// rawCodec sends []byte messages as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil } //nolint:errcheck,forcetypeassert // only []byte messages are sent
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...) //nolint:errcheck,forcetypeassert // only []byte messages are received
	return nil
}
func (rawCodec) Name() string { return "raw" }

const method = "/hopfloor.Relay/Forward"

func main() {
	back := flag.Bool("back", false, "run the back half (internal)")
	upstream := flag.String("upstream", "", "upstream base URL (loopback), e.g. http://127.0.0.1:1234")
	addrFile := flag.String("addr-file", "", "write the front's listen address here")
	dir := flag.String("dir", "", "directory for the generated certificates (default: a temp dir)")
	answer := flag.Bool("answer", false, "the back half answers a fixed secret-shaped body itself (no upstream)")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})
	if !*answer && !strings.HasPrefix(*upstream, "http://127.") && !strings.HasPrefix(*upstream, "http://localhost") {
		log.Fatal("-upstream must be a loopback http URL")
	}
	if *back {
		runBack(*upstream, *dir, *answer)
		return
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "hopfloor")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	writePKI(*dir)
	cmd := exec.Command(os.Args[0], //nolint:gosec // G204: this binary, re-run as the back half
		"-back", "-upstream", *upstream, "-dir", *dir, fmt.Sprintf("-answer=%t", *answer))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // the back half dies with the front
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	backAddr := waitFile(filepath.Join(*dir, "back.addr"))
	conn, err := grpc.NewClient(backAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig(*dir, false))),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype("raw")))
	if err != nil {
		log.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var out []byte
		if err := conn.Invoke(r.Context(), method, &in, &out); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		_ = os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600)
	}
	log.Fatal(http.Serve(ln, h)) //nolint:gosec // G114: loopback benchmark floor, no timeouts on purpose (as in the shared harness)
}

// secretBody is fakeupstream's GET /secret body.
const secretBody = `{"name":"/bench/floor","version_id":"v1","secret_string":"floor-value-0123456789","version_stages":["AWSCURRENT"]}` //nolint:gosec // G101: a fixed benchmark body, not a credential

func runBack(upstream, dir string, answer bool) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	target := strings.TrimRight(upstream, "/") + "/v1/chat/completions"
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsConfig(dir, true))),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var in []byte
			if err := stream.RecvMsg(&in); err != nil {
				return err
			}
			if answer {
				out := []byte(secretBody)
				return stream.SendMsg(&out)
			}
			req, _ := http.NewRequestWithContext(stream.Context(), "POST", target, bytes.NewReader(in))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			out, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			return stream.SendMsg(&out)
		}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "back.addr.tmp"), []byte(ln.Addr().String()), 0o600)
	_ = os.Rename(filepath.Join(dir, "back.addr.tmp"), filepath.Join(dir, "back.addr"))
	log.Fatal(srv.Serve(ln))
}

func waitFile(p string) string {
	for i := 0; i < 100; i++ {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("no %s", p)
	return ""
}

// writePKI makes a CA and one leaf used by both halves (client and server auth).
func writePKI(dir string) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hopfloor CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hopfloor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	kb, _ := x509.MarshalECPrivateKey(key)
	must(os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	must(os.WriteFile(filepath.Join(dir, "leaf.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(os.WriteFile(filepath.Join(dir, "leaf.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
}

func tlsConfig(dir string, server bool) *tls.Config {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf.key"))
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool.AppendCertsFromPEM(b)
	c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if server {
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	} else {
		c.RootCAs, c.ServerName = pool, "127.0.0.1"
	}
	return c
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprint(err))
	}
}
