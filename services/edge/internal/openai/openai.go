package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// MaxBodyBytes is the largest request body accepted (413 above): the body
// limit the permission table gives the model routes.
const MaxBodyBytes = permissions.BodyModel

// ErrorDomain is the ErrorInfo domain inference uses for OpenAI errors.
const ErrorDomain = httperr.OpenAIErrorDomain

// Options configure the handlers.
type Options struct {
	// Inference is the connection to the inference service.
	Inference grpc.ClientConnInterface
	// Log receives server-side failures (never bodies).
	Log *slog.Logger
	// MaxBodyBytes overrides MaxBodyBytes.
	MaxBodyBytes int64
	// Streams and MaxStreamsPerKey cap the chat streams one API key holds
	// open at once (nil or 0: no cap); beyond it a stream request gets 429.
	Streams          ratelimit.Slots
	MaxStreamsPerKey int
	// MaxStreamsPerTenant caps the chat streams one tenant holds open at
	// once across all its keys (0: no cap); the tenant's own limit
	// (principal tenant_max_concurrent_streams) only narrows it; the
	// platform admin's (platform_max_concurrent_streams) replaces it for
	// that tenant (ADR 0123 §3).
	MaxStreamsPerTenant int
	// LimitMetrics counts those refusals (level "streams"); may be nil.
	LimitMetrics *ratelimit.Metrics
}

// Handler serves the OpenAI routes.
type Handler struct {
	client     inferencev1.InferenceServiceClient
	log        *slog.Logger
	maxBody    int64
	bufs       sync.Pool
	streams    ratelimit.Slots
	maxStreams int
	// maxTenant is Options.MaxStreamsPerTenant.
	maxTenant int
	metrics   *ratelimit.Metrics
}

// New returns the handlers.
func New(o Options) *Handler {
	h := &Handler{client: inferencev1.NewInferenceServiceClient(o.Inference), log: o.Log, maxBody: o.MaxBodyBytes,
		streams: o.Streams, maxStreams: o.MaxStreamsPerKey, maxTenant: o.MaxStreamsPerTenant, metrics: o.LimitMetrics}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody <= 0 {
		h.maxBody = MaxBodyBytes
	}
	h.bufs.New = func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }
	return h
}

// Register mounts the routes on the edge's gateway mux.
func Register(mux *runtime.ServeMux, h *Handler) error {
	routes := []struct {
		method, pattern string
		fn              runtime.HandlerFunc
	}{
		{http.MethodPost, "/v1/chat/completions", func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h.ChatCompletions(w, r) }},
		{http.MethodPost, "/v1/completions", func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h.Completions(w, r) }},
		{http.MethodPost, "/v1/responses", func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h.Responses(w, r) }},
		{http.MethodGet, "/v1/responses/{response_id}", func(w http.ResponseWriter, r *http.Request, p map[string]string) {
			h.GetResponse(w, r, p["response_id"])
		}},
		{http.MethodDelete, "/v1/responses/{response_id}", func(w http.ResponseWriter, r *http.Request, p map[string]string) {
			h.DeleteResponse(w, r, p["response_id"])
		}},
		{http.MethodGet, "/v1/responses/{response_id}/input_items", func(w http.ResponseWriter, r *http.Request, p map[string]string) {
			h.ListInputItems(w, r, p["response_id"])
		}},
		{http.MethodPost, "/v1/responses/{response_id}/cancel", func(w http.ResponseWriter, r *http.Request, p map[string]string) {
			h.CancelResponse(w, r, p["response_id"])
		}},
		{http.MethodPost, "/v1/embeddings", func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h.Embeddings(w, r) }},
		{http.MethodGet, "/v1/models", func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h.ListModels(w, r) }},
		// {id=**} also matches "/v1/models" itself (zero segments).
		{http.MethodGet, "/v1/models/{id=**}", func(w http.ResponseWriter, r *http.Request, p map[string]string) {
			if p["id"] == "" {
				h.ListModels(w, r)
				return
			}
			h.GetModel(w, r, p["id"])
		}},
	}
	for _, rt := range routes {
		if err := mux.HandlePath(rt.method, rt.pattern, rt.fn); err != nil {
			return err
		}
	}
	return nil
}

// Literal returns the routes of Register with a literal path, by method
// and path, for the router to answer without the muxes in front of the
// gateway (router.Options.Direct); the gateway mux calls the same
// functions for them (no path parameters).
func Literal(h *Handler) map[router.Literal]http.Handler {
	return map[router.Literal]http.Handler{
		{Method: http.MethodPost, Path: "/v1/chat/completions"}: http.HandlerFunc(h.ChatCompletions),
		{Method: http.MethodPost, Path: "/v1/completions"}:      http.HandlerFunc(h.Completions),
		{Method: http.MethodPost, Path: "/v1/responses"}:        http.HandlerFunc(h.Responses),
		{Method: http.MethodPost, Path: "/v1/embeddings"}:       http.HandlerFunc(h.Embeddings),
	}
}

// outgoing returns ctx carrying the caller's assertion and request id, or
// false after writing 401 when the route was not authenticated.
func (h *Handler) outgoing(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	return h.outgoingWith(w, r, logging.RequestID(r.Context()))
}

// outgoingWith is outgoing with the request id's metadata only when id is
// not empty: the chat RPCs carry the id in their message instead (ADR 0108).
func (h *Handler) outgoingWith(w http.ResponseWriter, r *http.Request, id string) (context.Context, bool) {
	_, assertion, ok := authn.FromContext(r.Context())
	if !ok || assertion == "" {
		httperr.WriteStatus(w, r, http.StatusUnauthorized, httperr.CodeMissingAPIKey, "You didn't provide an API key.")
		return nil, false
	}
	// The key's assertion and delegations as one ready, shared MD, when
	// nothing else is on the context's outgoing metadata (which it would
	// replace): grpc-go sends an MD's keys as they are, where appended
	// pairs are lowercased twice and copied per call (issue 15, ADR 0121).
	if id == "" {
		if md := authn.Outgoing(r.Context()); md != nil {
			if _, has := metadata.FromOutgoingContext(r.Context()); !has {
				return metadata.NewOutgoingContext(r.Context(), md), true
			}
		}
	}
	// Inference forwards the principal to ingestion and keyvault: their
	// delegations (ADR 0083) go along.
	if d := authn.Delegated(r.Context()); len(d) > 0 {
		// On the stack for up to three delegations (a chat call carries
		// two): make with a length known only at run time put the pairs on
		// the heap on every request (issue 15, ADR 0090).
		var pairs [10]string
		kv := pairs[:0]
		if n := 2 + 2*len(d) + 2; n > len(pairs) {
			kv = make([]string, 0, n)
		}
		kv = append(kv, principal.MetadataKey, assertion)
		for _, v := range d {
			kv = append(kv, principal.DelegatedKey, v)
		}
		if id != "" {
			kv = append(kv, "x-request-id", id)
		}
		return metadata.AppendToOutgoingContext(r.Context(), kv...), true
	}
	// The pairs as literal arguments: a slice grown by append escaped to
	// the heap on every request (AppendToOutgoingContext copies them).
	if id != "" {
		return metadata.AppendToOutgoingContext(r.Context(), principal.MetadataKey, assertion, "x-request-id", id), true
	}
	return metadata.AppendToOutgoingContext(r.Context(), principal.MetadataKey, assertion), true
}

// readBody reads the body into a pooled buffer; the caller must put it back.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, bool) {
	if r.ContentLength > h.maxBody {
		h.tooLarge(w, r)
		return nil, false
	}
	buf := h.getBuf()
	body := r.Body
	// The router's Limits middleware already bounds the body by the route's
	// limit; a second MaxBytesReader with a limit no smaller would never
	// be the one to stop (issue 15: an allocation and a reader layer per
	// request). Without one as tight (a handler served alone), bound it.
	if st := reqstate.From(r.Context()); st == nil || st.BodyLimit <= 0 || st.BodyLimit > h.maxBody {
		body = http.MaxBytesReader(w, body, h.maxBody)
	}
	_, err := buf.ReadFrom(body)
	if err != nil {
		h.putBuf(buf)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w, r)
			return nil, false
		}
		httperr.WriteStatus(w, r, http.StatusBadRequest, httperr.CodeInvalidJSON, "could not read the request body")
		return nil, false
	}
	return buf, true
}

// getBuf returns an empty buffer from the pool; put it back with putBuf.
func (h *Handler) getBuf() *bytes.Buffer {
	buf, ok := h.bufs.Get().(*bytes.Buffer)
	if !ok {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	return buf
}

func (h *Handler) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		h.bufs.Put(b)
	}
}

func (h *Handler) tooLarge(w http.ResponseWriter, r *http.Request) {
	httperr.WriteStatus(w, r, http.StatusRequestEntityTooLarge, httperr.CodeRequestTooLarge,
		"The request body is larger than "+strconv.FormatInt(h.maxBody>>20, 10)+" MiB.")
}

// peek is the only part of the body the edge looks at.
type peek struct {
	Stream json.RawMessage `json:"stream"`
}

// inspect checks the body is one JSON object in valid UTF-8 and returns its
// stream flag. Everything else is inference's to validate.
func inspect(body []byte) (stream bool, e *httperr.Error) {
	// RFC 8259 JSON is UTF-8. encoding/json would silently turn invalid
	// bytes inside strings into U+FFFD, so a prompt (or a tool argument)
	// would reach the model, the logs and the usage records other than
	// sent; the REST routes (protojson) refuse such bodies too.
	if !utf8.Valid(body) {
		return false, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidJSON,
			Message: "The request body is not valid UTF-8 (first invalid byte at offset " + strconv.Itoa(invalidUTF8At(body)) + "); JSON must be UTF-8 encoded."}
	}
	raw, ok := peekStream(body)
	if !ok {
		var e *httperr.Error
		if raw, e = decodeStream(body); e != nil {
			return false, e
		}
	}
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidArgument, Param: "stream", Message: "stream must be a boolean"}
	}
}

// decodeStream is inspect's slow path, and the one that words its errors:
// encoding/json decodes the body into peek.
func decodeStream(body []byte) ([]byte, *httperr.Error) {
	var p peek
	if err := json.Unmarshal(body, &p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidJSON, Message: "The request body must be a JSON object."}
		}
		return nil, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidJSON,
			Message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"}
	}
	return p.Stream, nil
}

// invalidUTF8At returns the offset of the first byte that is not part of a
// valid UTF-8 sequence, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// writeError writes a gRPC error from inference in OpenAI's shape, taking
// the OpenAI code, type and param from the ErrorInfo detail.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client is gone: nobody to answer
	}
	e := fromGRPC(err)
	if e.Status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "inference call failed", slog.String("path", r.URL.Path),
			slog.Int("status", e.Status), slog.String("grpc_code", status.Code(err).String()))
	}
	if e.RetryAfter > 0 {
		httperr.SetRetryAfter(w.Header(), e.RetryAfter.Seconds())
	}
	if e.Code == codeRateLimitExceeded {
		setTokenHeaders(w.Header(), err)
	}
	if e.Code == codeInsufficientQuota {
		// A spent budget is a 429 the SDKs would retry with backoff, only to
		// be refused again until the budget's month ends (ADR 0096).
		w.Header().Set("X-Should-Retry", "false")
	}
	httperr.Write(w, r, e)
}

// Inference's codes for a spent budget and for a rate limit.
const (
	codeInsufficientQuota = "insufficient_quota"
	codeRateLimitExceeded = "rate_limit_exceeded"
)

// tokenHeaders are the headers a TPM refusal carries as metadata of its
// ErrorInfo (ADR 0096); no other metadata becomes a header.
var tokenHeaders = [...]string{"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}

// setTokenHeaders writes the token headers of err's ErrorInfo. Only a 429
// reads the details again; an answer's headers come with the response.
func setTokenHeaders(h http.Header, err error) {
	for _, d := range status.Convert(err).Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != ErrorDomain {
			continue
		}
		for _, k := range tokenHeaders {
			if v := info.GetMetadata()[k]; v != "" {
				h.Set(k, v)
			}
		}
	}
}

// fromGRPC maps an inference error with the edge's one mapping: httperr
// reads inference's ErrorInfo (OpenAI code, type and param).
func fromGRPC(err error) *httperr.Error { return httperr.FromGRPC(err) }

func setHeaders(w http.ResponseWriter, extra map[string]string) {
	h := w.Header()
	for k, v := range extra {
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
}

var jsonCT = []string{"application/json"}

// wholeBody is the largest body net/http still holds whole when the handler
// returns (HTTP/1.1 buffers the first 2 KiB before it sends the header,
// HTTP/2 4 KiB), and for which it then writes Content-Length itself.
const wholeBody = 2048

// writeJSON answers 200 with body. Content-Length is in the header map only
// for a body larger than net/http holds whole: for a smaller one net/http
// writes the same field itself, from a fixed array rather than a map entry.
// Every key past the eighth turns the handler's header map (and its clone at
// WriteHeader) into a hashed table, and a chat completion's answer has
// eleven; the field cost ~3,000 instructions and two allocations per answer
// (issue 15, ADR 0074). The field and its value are the same; only its
// place in the HTTP/1.1 header block moves (after the sorted ones, beside
// Date). TestJSONAnswerLength holds both protocols to it.
func writeJSON(w http.ResponseWriter, body []byte, extra map[string]string) {
	setHeaders(w, extra)
	h := w.Header()
	h["Content-Type"] = jsonCT
	if len(body) > wholeBody {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
