package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/rampart-platform/rampart/pkg/retry"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Config configures one upstream.
type Config struct {
	// BaseURL ends before /chat/completions, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as a bearer token; empty sends none (local vLLM/Ollama).
	APIKey string
	// Credentials, when set, supplies the API key for each request instead
	// of APIKey (a keyvault secret read through a cache).
	Credentials Credentials
	// Timeout bounds one attempt, including reading a streamed body (0 = 60 s).
	Timeout time.Duration
	// MaxRetries on 429/5xx/connection errors (negative = 0; 0 = default 2).
	MaxRetries int
	// MaxRetryWait caps one wait, including Retry-After (0 = 10 s).
	MaxRetryWait time.Duration
	// Transport overrides the tuned default (tests).
	Transport http.RoundTripper
}

// Credentials supplies an upstream API key per request.
type Credentials interface {
	// APIKey returns the key to send for the call in ctx. Its errors are
	// returned to the caller as they are (they should be apierr errors
	// that say nothing about the secret).
	APIKey(ctx context.Context) (string, error)
	// Rejected reports that the upstream refused the key (401/403), so a
	// rotated key is fetched again instead of waiting for the cache TTL.
	Rejected(ctx context.Context)
}

// Provider talks to one OpenAI-compatible upstream.
type Provider struct {
	base  string
	creds Credentials
	rt    http.RoundTripper
	// authHeader is the Authorization header's value for a static key
	// (nil with Credentials or no key): shared by every request, as the
	// constant headers below are; a RoundTripper never modifies a request.
	authHeader []string
	key        string // the static key, for redaction (statusError)
	// headers are every request's headers with a static key: one map
	// shared by every request, never written (send sets basic
	// authentication only on a request without Authorization), instead of
	// a map filled per request (issue 15, ADR 0122). nil without a static
	// key.
	headers http.Header
	// urls are base+path parsed once for each path the provider posts to
	// (a path missing here is parsed per request, as before).
	urls    map[string]*url.URL
	timeout time.Duration
	retries int
	maxWait time.Duration
}

// NewTransport returns the tuned transport: large keep-alive pools so a busy
// gateway reuses connections instead of paying TCP/TLS setup per request.
// Each pooled connection keeps its read and write buffers while idle (90 s):
// at 32 KB each way a burst at concurrency 64 left 4 MB of buffers in an
// idle process (ADR 0056). 8 KB holds a typical request's headers and body
// in one write and an answer in one read; larger bodies pass the buffer
// (bufio reads and writes directly once a call exceeds it).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // the per-attempt context bounds it
		WriteBufferSize:       8 << 10,
		ReadBufferSize:        8 << 10,
	}
}

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("openai provider: base URL is required")
	}
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, errors.New("openai provider: base URL must be http(s)")
	}
	p := &Provider{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		timeout: cfg.Timeout,
		retries: cfg.MaxRetries,
		maxWait: cfg.MaxRetryWait,
	}
	if cfg.APIKey != "" {
		p.authHeader, p.key = []string{"Bearer " + cfg.APIKey}, cfg.APIKey
	}
	if p.authHeader != nil && cfg.Credentials == nil {
		p.headers = http.Header{"Content-Type": contentTypeJSON, "Accept": acceptJSONOrSSE, "Authorization": p.authHeader}
	}
	p.creds = cfg.Credentials
	if p.timeout <= 0 {
		p.timeout = 60 * time.Second
	}
	if p.retries == 0 {
		p.retries = 2
	} else if p.retries < 0 {
		p.retries = 0
	}
	if p.maxWait <= 0 {
		p.maxWait = 10 * time.Second
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport()
	}
	p.rt = rt
	p.urls = parseURLs(p.base, "/chat/completions", "/embeddings", responsesPath)
	return p, nil
}

// Name implements provider.Provider.
func (*Provider) Name() string { return "openai" }

// Capabilities implements provider.Provider. What the upstream model really
// supports is the registry's business; the protocol supports everything.
func (*Provider) Capabilities(string) provider.Capabilities {
	return provider.Capabilities{Chat: true, Stream: true, Tools: true, JSONMode: true, StructuredOutputs: true, Embeddings: true, ReportsUsage: true,
		Choices: true, Logprobs: true, Reasoning: true, LogitBias: true}
}

// forwarded returns the request as sent upstream: store and metadata are
// dropped so no upstream keeps a copy of the conversation on Rampart's key,
// safety_identifier and prompt_cache_key because not every
// OpenAI-compatible server knows them, modalities and service_tier because
// the only values Rampart takes ask for the default (ADR 0135 §1).
func forwarded(r *wire.ChatRequest) *wire.ChatRequest {
	if r.Store == nil && r.Metadata == nil && r.SafetyIdentifier == "" && r.PromptCacheKey == "" &&
		r.Modalities == nil && r.ServiceTier == "" {
		return r
	}
	c := *r
	c.Store, c.Metadata, c.SafetyIdentifier, c.PromptCacheKey = nil, nil, "", ""
	c.Modalities, c.ServiceTier = nil, ""
	return &c
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, call *provider.ChatCall) (*provider.ChatResult, error) {
	body, err := encodeUpstream(upstreamChat{ChatRequest: forwarded(call.Request), Model: call.UpstreamModel})
	if err != nil {
		return nil, fmt.Errorf("openai: encode request: %w", err)
	}
	var out upstreamCompletion
	err = p.do(ctx, "/chat/completions", body, func(resp *http.Response) error {
		return readBody(resp.Body, func(b []byte) error { return decodeAnswer(b, &out) })
	})
	if err != nil {
		return nil, err
	}
	if len(out.Choices) == 0 {
		return nil, apierr.Unavailable("The upstream model returned no choices.", 0)
	}
	if len(out.Choices) > 1 {
		// n > 1 (ADR 0120 §1): the choices in index order.
		slices.SortStableFunc(out.Choices, func(a, b upstreamChoice) int { return a.Index - b.Index })
	}
	res := &provider.ChatResult{}
	choiceResult(&out.Choices[0], res)
	if len(out.Choices) > 1 {
		res.More = make([]provider.ChatResult, len(out.Choices)-1)
		for i := range res.More {
			choiceResult(&out.Choices[i+1], &res.More[i])
		}
	}
	if out.Usage != nil {
		res.Usage = provider.Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens, Reported: true,
			PromptDetails: out.Usage.PromptTokensDetails, CompletionDetails: out.Usage.CompletionTokensDetails}
	}
	return res, nil
}

// choiceResult is one upstream choice as a result ("stop" when it sent
// no finish reason).
func choiceResult(c *upstreamChoice, res *provider.ChatResult) {
	res.ToolCalls, res.FinishReason, res.Logprobs = c.Message.ToolCalls, c.FinishReason, c.Logprobs
	if c.Message.Content != nil {
		res.Content, res.HasContent = *c.Message.Content, true
	}
	if res.FinishReason == "" {
		res.FinishReason = "stop"
	}
}

type upstreamEmbeddings struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage *wire.EmbedUsage `json:"usage"`
}

// Embed implements provider.Provider.
func (p *Provider) Embed(ctx context.Context, call *provider.EmbedCall) (*provider.EmbedResult, error) {
	req := map[string]any{"model": call.UpstreamModel, "input": call.Inputs, "encoding_format": "float"}
	if call.Dimensions > 0 {
		req["dimensions"] = call.Dimensions
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("openai: encode request: %w", err)
	}
	var out upstreamEmbeddings
	if err := p.do(ctx, "/embeddings", body, func(resp *http.Response) error {
		return decodeBody(resp.Body, &out)
	}); err != nil {
		return nil, err
	}
	res := &provider.EmbedResult{Vectors: make([][]float32, len(call.Inputs))}
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(res.Vectors) {
			return nil, apierr.Unavailable("The upstream returned a malformed embeddings response.", 0)
		}
		res.Vectors[d.Index] = d.Embedding
	}
	for _, v := range res.Vectors {
		if v == nil {
			return nil, apierr.Unavailable("The upstream returned a malformed embeddings response.", 0)
		}
	}
	if out.Usage != nil {
		res.Usage = provider.Usage{PromptTokens: out.Usage.PromptTokens, Reported: true}
	}
	return res, nil
}

// bodyBufs holds the buffers upstream answers are read into.
var bodyBufs = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

// decodeBody reads a whole answer into a pooled buffer and decodes it.
// json.NewDecoder allocated a decoder and its own buffer per answer, and
// decoding from a stream cost more than from bytes: together ~7 % of
// inference's CPU per chat completion (issue 15). The decoded strings are
// copies, so the buffer is reused.
func decodeBody(r io.Reader, v any) error {
	return readBody(r, func(b []byte) error { return json.Unmarshal(b, v) })
}

// readBody reads a whole answer into a pooled buffer and hands it to
// decode, which must not keep it.
func readBody(r io.Reader, decode func([]byte) error) error {
	buf, _ := bodyBufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	return decode(buf.Bytes())
}

// do POSTs body to path with retries and hands a 2xx response to read. The
// attempt's context stays alive while read runs (streams) and is cancelled
// afterwards, which closes the upstream connection if read returns early.
// 429, 5xx and connection failures are retried up to p.retries times
// (cenkalti/backoff), after the upstream's Retry-After or else an
// exponential backoff from 250 ms with equal jitter; a Retry-After longer
// than p.maxWait is not waited for. The last upstream error is returned,
// also when ctx ends during a wait.
//
// The first attempt runs before any retry machinery is built: nearly every
// call succeeds at once, and the backoff schedule, its timer and closures
// were a measurable share of a chat completion's allocations (issue 15).
// A retryable first failure is replayed as backoff.Retry's first attempt,
// so the schedule, waits and results are what they were.
func (p *Provider) do(ctx context.Context, path string, body []byte, read func(*http.Response) error) error {
	rawURL, u := "", p.urls[path] // attempt takes the parsed URL, looked up once
	if u == nil {
		rawURL = p.base + path
	}
	retryable0, after0, err0 := p.attempt(ctx, u, rawURL, path, body, read)
	if err0 == nil || !retryable0 || p.retries == 0 {
		return err0
	}
	first := true
	wait := &upstreamBackOff{next: retry.EqualJitter(250*time.Millisecond, p.maxWait), maxWait: p.maxWait}
	var last error
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		retryable, after, err := retryable0, after0, err0
		if first {
			first = false
		} else {
			retryable, after, err = p.attempt(ctx, u, rawURL, path, body, read)
		}
		if err == nil {
			return struct{}{}, nil
		}
		last = err
		if !retryable {
			return struct{}{}, backoff.Permanent(err)
		}
		wait.retryAfter = after
		return struct{}{}, err
	}, backoff.WithBackOff(wait), backoff.WithMaxTries(uint(p.retries)+1), backoff.WithMaxElapsedTime(0)) //nolint:gosec // New makes retries >= 0
	if err != nil && last != nil {
		return last
	}
	return err
}

// upstreamBackOff is the wait before the next attempt: the Retry-After of
// the last answer when it had one, else the exponential schedule; Stop
// when that is longer than maxWait.
type upstreamBackOff struct {
	next       backoff.BackOff
	maxWait    time.Duration
	retryAfter time.Duration
}

func (b *upstreamBackOff) Reset() { b.next.Reset() }

func (b *upstreamBackOff) NextBackOff() time.Duration {
	d := b.next.NextBackOff()
	if b.retryAfter > 0 {
		d = b.retryAfter
	}
	if d > b.maxWait {
		return backoff.Stop
	}
	return d
}

// Header values every request carries, shared (see Provider.authHeader).
var (
	contentTypeJSON = []string{"application/json"}
	acceptJSONOrSSE = []string{"application/json, text/event-stream"}
)

// attempt is one try: a POST of body to u (nil: rawURL, parsed per
// request) for path.
func (p *Provider) attempt(ctx context.Context, u *url.URL, rawURL, path string, body []byte, read func(*http.Response) error) (retryable bool, wait time.Duration, err error) {
	auth, key := p.authHeader, p.key
	if p.creds != nil {
		k, err := p.creds.APIKey(ctx)
		if err != nil {
			return false, 0, err
		}
		auth, key = []string{"Bearer " + k}, k
	}
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := newPost(actx, u, rawURL, body)
	if err != nil {
		return false, 0, fmt.Errorf("openai: build request: %w", err)
	}
	if p.creds == nil && p.headers != nil {
		req.Header = p.headers
	} else {
		req.Header["Content-Type"] = contentTypeJSON
		req.Header["Accept"] = acceptJSONOrSSE
		if auth != nil {
			req.Header["Authorization"] = auth
		}
	}
	resp, err := send(p.rt, req)
	if err != nil {
		return p.transportError(ctx, actx, err)
	}
	if p.creds != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		p.creds.Rejected(ctx)
	}
	defer func() {
		drain(resp.Body)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode/100 == 2 {
		if err := read(resp); err != nil {
			err = readError(ctx, actx, err)
			// The body may be a stream the upstream is still writing (a
			// refused tool call, a client that stopped reading): end the
			// request now, or the deferred drain waits for the upstream to
			// finish or for the attempt's timeout.
			cancel()
			return false, 0, err
		}
		return false, 0, nil
	}
	return statusError(resp, path, key)
}

// drainLimit is how much of an answer's unread rest is read before the
// body is closed, so that the connection can be reused.
const drainLimit = 64 << 10

// drainBufs are drain's read buffers.
var drainBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// drain reads and discards up to drainLimit bytes of r, as
// io.Copy(io.Discard, io.LimitReader(r, drainLimit)) did, without the
// LimitedReader that cost an allocation per call (issue 15): nearly
// always the body is at its end already and one Read says so.
func drain(r io.Reader) {
	bp, _ := drainBufs.Get().(*[]byte)
	buf := *bp
	for left := drainLimit; left > 0; {
		n, err := r.Read(buf[:min(len(buf), left)])
		left -= n
		if err != nil {
			break
		}
	}
	drainBufs.Put(bp)
}

// parseURLs parses base+path for each path, with the host as
// http.NewRequest leaves it (an empty port removed); paths whose URL does
// not parse are left out, so their requests fail as they did.
func parseURLs(base string, paths ...string) map[string]*url.URL {
	m := make(map[string]*url.URL, len(paths))
	for _, path := range paths {
		u, err := url.Parse(base + path)
		if err != nil {
			continue
		}
		if strings.LastIndex(u.Host, ":") > strings.LastIndex(u.Host, "]") {
			u.Host = strings.TrimSuffix(u.Host, ":")
		}
		m[path] = u
	}
	return m
}

// newPost is http.NewRequestWithContext(ctx, POST, u or raw, a
// bytes.Reader of body): the same request, without parsing the URL again
// for every call (url.Parse was ~1 % of inference's CPU per chat
// completion, issue 15) when u, the pre-parsed URL, is given.
func newPost(ctx context.Context, u *url.URL, raw string, body []byte) (*http.Request, error) {
	if u == nil {
		return http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", nil) // an empty URL parses at once
	if err != nil {
		return nil, err
	}
	*req.URL = *u
	req.Host = u.Host
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return req, nil
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return req, nil
}

// send is what http.Client.Do does for the provider's client — no cookie
// jar, no client timeout, redirects never followed (the answer to a
// redirect is the response) — without the per-call bookkeeping Do keeps
// for following redirects (a copy of the request's headers, a closure,
// the list of requests made; ~5 allocations per call, issue 15). Do's
// other outcomes are kept: a base URL's user info is sent as basic
// authentication when no key is, a redirect whose Location does not parse
// is an error, a RoundTripper's nil body is an empty one. The error's text
// differs from Do's (no *url.Error around it); callers only classify it.
func send(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		password, _ := u.Password()
		req.SetBasicAuth(u.Username(), password)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", rt)
	}
	if resp.Body == nil {
		if resp.ContentLength > 0 && req.Method != http.MethodHead {
			return nil, fmt.Errorf("http: RoundTripper implementation (%T) returned a *Response with content length %d but a nil Body", rt, resp.ContentLength)
		}
		resp.Body = http.NoBody
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if loc := resp.Header.Get("Location"); loc != "" {
			if _, err := req.URL.Parse(loc); err != nil {
				_ = resp.Body.Close()
				return nil, fmt.Errorf("failed to parse Location header %q: %w", loc, err)
			}
		}
	}
	return resp, nil
}

// readError classifies a failure to read a successful response: the
// reader's API error as it is, the caller's cancellation, the attempt's
// timeout, or an unreadable body.
func readError(ctx, actx context.Context, err error) error {
	if ae, ok := apierr.As(err); ok {
		return ae
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if actx.Err() != nil {
		return apierr.Timeout("The upstream model timed out.")
	}
	return apierr.Unavailable("The upstream model returned an unreadable response.", 0)
}

func (p *Provider) transportError(ctx, actx context.Context, err error) (bool, time.Duration, error) {
	if ctx.Err() != nil {
		return false, 0, ctx.Err()
	}
	if actx.Err() != nil {
		return true, 0, apierr.Timeout("The upstream model timed out.")
	}
	// net/http's errors name the URL without its password; the key
	// travels in a header, never in the URL.
	return true, 0, apierr.Unavailable("The upstream model is unreachable.", 0).WithCause(err)
}

// statusError maps an upstream's non-2xx answer. key is the credential the
// request carried: a message passed on to the client never contains it.
func statusError(resp *http.Response, path, key string) (bool, time.Duration, error) {
	wait := retryAfter(resp.Header)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, wait, apierr.RateLimited("The upstream model is rate limited; retry later.", wait)
	case resp.StatusCode >= 500:
		return true, wait, apierr.Unavailable("The upstream model is unavailable.", wait)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return false, 0, apierr.Unavailable("The upstream rejected Rampart's credentials; the operator must fix the provider configuration.", 0)
	case resp.StatusCode == http.StatusNotFound && path == responsesPath:
		return false, 0, apierr.Unavailable("The upstream does not serve the configured model or the Responses API (the model registry says responses_api native).", 0)
	case resp.StatusCode == http.StatusNotFound:
		return false, 0, apierr.Unavailable("The upstream does not serve the configured model.", 0)
	default:
		// A 4xx about the caller's request: pass OpenAI's message and param.
		var e struct {
			Error struct {
				Message string  `json:"message"`
				Param   *string `json:"param"`
				Code    any     `json:"code"`
			} `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		msg := e.Error.Message
		if msg == "" {
			msg = "The upstream model rejected the request."
		}
		// Some upstreams quote the Authorization header or the key they
		// refused; the message reaches the tenant and the access logs.
		if key != "" {
			msg = strings.ReplaceAll(msg, key, "[REDACTED]")
		}
		param := ""
		if e.Error.Param != nil {
			param = *e.Error.Param
		}
		return false, 0, apierr.Invalid(param, "%s", cut(msg, 500))
	}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// retryAfter parses Retry-After (seconds or HTTP date) and the
// retry-after-ms extension.
func retryAfter(h http.Header) time.Duration {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if n, err := strconv.ParseFloat(ms, 64); err == nil && n >= 0 {
			return time.Duration(n * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
