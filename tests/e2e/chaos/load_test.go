package chaos

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client retries: what a client of a two-edge deployment does behind a
// load balancer. Transport errors (an edge that died) and 502/503/504 (a
// backend that died mid-call) are retried on the other edge with backoff;
// the writes carry idempotency (secret versions a client_request_token,
// documents their content hash), so a retry of a write that did happen
// does not happen twice.
const (
	maxAttempts  = 6
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = time.Second
)

// client is the load generator's HTTP client over both edges.
type client struct {
	edges []string
	http  *http.Client
	next  atomic.Uint64

	// phase names what the chaos is doing ("keyvault-2 down"), for the
	// report of retried attempts.
	phase atomic.Value

	mu       sync.Mutex
	stats    map[string]*kindStats
	failures []string       // operations that failed after their retries
	retried  map[string]int // attempt errors by phase, kind and cause
}

type kindStats struct {
	ops, failed, attempts, attemptErrs int
}

func newClient(edges []string) *client {
	return &client{
		edges:   edges,
		http:    &http.Client{Timeout: 60 * time.Second},
		stats:   map[string]*kindStats{},
		retried: map[string]int{},
	}
}

func (c *client) setPhase(p string) { c.phase.Store(p) }

// errStatus is a final non-2xx answer.
type errStatus struct {
	code int
	body string
}

func (e *errStatus) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// call sends one request to one edge.
func (c *client) call(edge, method, path, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, edge+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

func retryable(code int, err error) bool {
	return err != nil || code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// op runs one logical operation: up to maxAttempts, each on the next edge.
// out receives the 2xx body. The error is what the client finally saw.
func (c *client) op(kind, method, path, key string, body, out any) error {
	edge := int(c.next.Add(1) % uint64(len(c.edges))) //nolint:gosec // G115: below len(c.edges)
	backoff := firstBackoff
	var code int
	var data []byte
	var err error
	attempts, attemptErrs := 0, 0
	for range maxAttempts {
		attempts++
		code, data, err = c.call(c.edges[edge%len(c.edges)], method, path, key, body)
		if !retryable(code, err) {
			break
		}
		attemptErrs++
		c.noteRetry(kind, code, data, err)
		edge++
		time.Sleep(backoff)
		backoff = min(2*backoff, maxBackoff)
	}
	if err == nil && code/100 != 2 {
		err = &errStatus{code: code, body: truncate(string(data), 300)}
	}
	if err == nil && out != nil {
		if jerr := json.Unmarshal(data, out); jerr != nil {
			err = fmt.Errorf("decode %s: %w", truncate(string(data), 300), jerr)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats[kind]
	if st == nil {
		st = &kindStats{}
		c.stats[kind] = st
	}
	st.ops++
	st.attempts += attempts
	st.attemptErrs += attemptErrs
	if err != nil {
		st.failed++
		phase, _ := c.phase.Load().(string)
		c.failures = append(c.failures, fmt.Sprintf("%s [%s] %s %s %s: %v", time.Now().Format("15:04:05.000"), phase, kind, method, path, err))
	}
	return err
}

func (c *client) noteRetry(kind string, code int, data []byte, err error) {
	cause := fmt.Sprintf("HTTP %d %s", code, truncate(string(data), 120))
	if err != nil {
		cause = transportCause(err)
	}
	phase, _ := c.phase.Load().(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retried[fmt.Sprintf("%-22s %-14s %s", phase, kind, cause)]++
}

// transportCause names a transport error without its addresses.
func transportCause(err error) string {
	for _, s := range []string{"connection refused", "connection reset by peer", "EOF", "broken pipe", "timeout"} {
		if strings.Contains(err.Error(), s) {
			return s
		}
	}
	return truncate(err.Error(), 120)
}

// totals sums the stats of every kind.
func (c *client) totals() (ops, failed, attempts, attemptErrs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stats {
		ops += st.ops
		failed += st.failed
		attempts += st.attempts
		attemptErrs += st.attemptErrs
	}
	return
}

func (c *client) report() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	kinds := make([]string, 0, len(c.stats))
	for k := range c.stats {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		st := c.stats[k]
		fmt.Fprintf(&b, "  %-16s ops %5d failed %3d  attempts %5d attempt errors %3d\n", k, st.ops, st.failed, st.attempts, st.attemptErrs)
	}
	if len(c.failures) > 0 {
		b.WriteString("failed operations:\n  " + strings.Join(c.failures, "\n  ") + "\n")
	}
	if len(c.retried) > 0 {
		b.WriteString("retried attempts by phase, operation and cause:\n")
		keys := make([]string, 0, len(c.retried))
		for k := range c.retried {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %4d  %s\n", c.retried[k], k)
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// token is a random idempotency token (keyvault wants 32-64 characters).
func token(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ackedSecret is a secret version the stack acknowledged.
type ackedSecret struct {
	name, versionID, value string
}

// ackedDoc is a document ingest the stack acknowledged.
type ackedDoc struct {
	docID, jobID string
}

// revocation is one key revoked under load, as each edge saw it.
type revocation struct {
	keyID string
	// Per edge: the last time it accepted the key after the revocation was
	// acknowledged (zero: never), when it first refused it (zero: not
	// within the poll), and whether it was unreachable meanwhile.
	lastAccept, firstRefusal [2]time.Duration
	unreachable              [2]bool
}

// recorder collects what the workers were told.
type recorder struct {
	mu          sync.Mutex
	secrets     []ackedSecret
	docs        []ackedDoc
	revocations []revocation
	readErrs    []string // a read under load that disagreed with an acknowledged write
}

func (r *recorder) addSecret(s ackedSecret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

func (r *recorder) addDoc(d ackedDoc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs = append(r.docs, d)
}

func (r *recorder) addRevocation(v revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revocations = append(r.revocations, v)
}

func (r *recorder) readErr(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readErrs = append(r.readErrs, s)
}
