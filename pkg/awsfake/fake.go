package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Fake is the fake AWS endpoint. Its zero value is not usable; call New or
// Start.
type Fake struct {
	// Now is the clock (deletion dates, created dates).
	Now func() time.Time

	mu       sync.Mutex
	secrets  map[string]*secret // by name
	params   map[string]*param
	keys     map[string]*kmsKey // by key id
	aliases  map[string]string  // alias name → key id
	throttle map[string]int     // target → throttles left
	calls    map[string]int     // target → calls seen
	seq      int
	url      string
}

// New returns a Fake handler (serve it yourself) with no state.
func New() *Fake {
	return &Fake{Now: time.Now, secrets: map[string]*secret{}, params: map[string]*param{}, keys: map[string]*kmsKey{},
		aliases: map[string]string{}, throttle: map[string]int{}, calls: map[string]int{}}
}

// Start serves a new Fake on a loopback port until the test ends.
func Start(t testing.TB) *Fake {
	f := New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// URL is the endpoint (for BaseEndpoint), set by Start.
func (f *Fake) URL() string { return f.url }

// AWSConfig returns an SDK config pointed at the fake with static dummy
// credentials.
func (f *Fake) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake-secret-access-key", ""),
		BaseEndpoint: aws.String(f.url),
		// The SDK's standard retryer (3 attempts, throttling and 5xx
		// retried) with a short backoff so tests stay quick.
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond })
		},
	}
}

// Throttle makes the next n calls of target (e.g.
// "secretsmanager.GetSecretValue") fail with ThrottlingException.
func (f *Fake) Throttle(target string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[target] = n
}

// Calls reports how many requests target received (throttled ones too).
func (f *Fake) Calls(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[target]
}

// apiError is an AWS JSON 1.1 error.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func errorf(status int, typ, format string, args ...any) *apiError {
	return &apiError{status: status, typ: typ, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "ResourceNotFoundException", format, args...)
}

func invalidParam(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func invalidRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidRequestException", format, args...)
}

type handler func(f *Fake, body []byte) (any, *apiError)

var handlers = map[string]handler{}

func register(target string, h handler) { handlers[target] = h }

// ServeHTTP implements the AWS JSON 1.1 protocol.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeErr(w, errorf(http.StatusNotFound, "UnknownOperationException", "POST / only"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeErr(w, errorf(http.StatusBadRequest, "SerializationException", "content type must be application/x-amz-json-1.1"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeErr(w, errorf(http.StatusBadRequest, "MissingAuthenticationTokenException", "request is not signed"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErr(w, errorf(http.StatusBadRequest, "SerializationException", "read body"))
		return
	}
	h, ok := handlers[target]
	f.mu.Lock()
	f.calls[target]++
	throttled := f.throttle[target] > 0
	if throttled {
		f.throttle[target]--
	}
	f.mu.Unlock()
	if !ok {
		writeErr(w, errorf(http.StatusBadRequest, "UnknownOperationException", "unknown operation %q", target))
		return
	}
	if throttled {
		writeErr(w, errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded"))
		return
	}
	f.mu.Lock()
	out, aerr := h(f, body)
	f.mu.Unlock()
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "malformed JSON body")
	}
	return nil
}

func (f *Fake) newID() string {
	f.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", f.seq, time.Now().UnixNano()&0xffffffffffff)
}

// epoch renders a time the way AWS JSON does (seconds, fractional).
func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixNano()) / 1e9
}
