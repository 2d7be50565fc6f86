package wirecheck

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// NewTLSListener terminates TLS on l and checks the HTTP/1.1 connections.
// The check has to sit above TLS (it reads the plaintext), and net/http
// needs a *tls.Conn to speak HTTP/2, so the handshake happens here, off the
// accept loop (each with a deadline of handshakeTimeout): connections that
// negotiate "h2" are handed over as the *tls.Conn (HTTP/2 has no line
// framing to check, and net/http refuses CR/LF in its header fields),
// every other one wrapped in a Conn. Serve the result with
// http.Server.Serve, not ServeTLS, with TLSConfig set to the same config
// (its NextProtos decide whether net/http sets up HTTP/2). Requests over a
// wrapped connection have a nil Request.TLS.
func NewTLSListener(l net.Listener, cfg *tls.Config, handshakeTimeout time.Duration) net.Listener {
	cfg = cfg.Clone()
	if !slices.Contains(cfg.NextProtos, "http/1.1") {
		cfg.NextProtos = append(cfg.NextProtos, "http/1.1")
	}
	if handshakeTimeout <= 0 {
		handshakeTimeout = 10 * time.Second
	}
	t := &tlsListener{inner: l, cfg: cfg, timeout: handshakeTimeout,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
	go t.accept()
	return t
}

type tlsListener struct {
	inner   net.Listener
	cfg     *tls.Config
	timeout time.Duration
	conns   chan net.Conn
	errs    chan error
	done    chan struct{}
	once    sync.Once
}

func (t *tlsListener) accept() {
	for {
		c, err := t.inner.Accept()
		if err != nil {
			// Pass every error on: net/http retries temporary ones (by
			// calling Accept again) and stops on the others.
			select {
			case t.errs <- err:
			case <-t.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go t.handshake(c)
	}
}

func (t *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, t.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = c.Close()
		return
	}
	var out net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		out = NewConn(tc)
	}
	select {
	case t.conns <- out:
	case <-t.done:
		_ = out.Close()
	}
}

// Accept implements net.Listener.
func (t *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case err := <-t.errs:
		return nil, err
	case <-t.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (t *tlsListener) Close() error {
	err := net.ErrClosed
	t.once.Do(func() {
		close(t.done)
		err = t.inner.Close()
	})
	return err
}

// Addr implements net.Listener.
func (t *tlsListener) Addr() net.Addr { return t.inner.Addr() }
