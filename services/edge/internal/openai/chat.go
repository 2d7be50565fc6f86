package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// ChatCompletions serves POST /v1/chat/completions.
func (h *Handler) ChatCompletions(w http.ResponseWriter, r *http.Request) {
	h.complete(w, r, inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED)
}

// Completions serves the legacy POST /v1/completions: the same RPCs as
// chat, marked so inference parses the legacy body and answers with
// text_completion objects.
func (h *Handler) Completions(w http.ResponseWriter, r *http.Request) {
	h.complete(w, r, inferencev1.RequestFormat_REQUEST_FORMAT_COMPLETIONS)
}

// Responses serves POST /v1/responses (the Responses API): the chat RPCs
// with format RESPONSES; inference maps the request to chat and answers
// with a response object or, streamed, named Responses events.
func (h *Handler) Responses(w http.ResponseWriter, r *http.Request) {
	h.complete(w, r, inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES)
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request, format inferencev1.RequestFormat) {
	// The request id goes in the message, not in the metadata: inference
	// then has no per-call HPACK literal to decode (issue 15, ADR 0108).
	id := logging.RequestID(r.Context())
	ctx, ok := h.outgoingWith(w, r, "")
	if !ok {
		return
	}
	buf, ok := h.readBody(w, r)
	if !ok {
		return
	}
	defer h.putBuf(buf)
	stream, perr := inspect(buf.Bytes())
	if perr != nil {
		httperr.Write(w, r, perr)
		return
	}
	if stream {
		h.stream(w, r, ctx, buf.Bytes(), format)
		return
	}
	resp, err := h.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: buf.Bytes(), Format: format, CallRequestId: id})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), resp.GetHeaders())
}

var (
	sseCT      = []string{"text/event-stream; charset=utf-8"}
	noCache    = []string{"no-cache"}
	accelNo    = []string{"no"}
	dataPrefix = []byte("data: ")
	eventEnd   = []byte("\n\n")
	done       = []byte("data: [DONE]\n\n")
	eventField = []byte("event: ")
	newline    = []byte("\n")
)

// streamCallOptions are a chat stream's call options, one slice for every
// stream (a variadic argument list is a new one per call).
var streamCallOptions = []grpc.CallOption{serve.RequestIDInMessage}

// stream relays inference's chunks as Server-Sent Events. Headers are
// written once the first chunk arrives, so errors before any output get a
// proper HTTP status.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, ctx context.Context, body []byte, format inferencev1.RequestFormat) { //nolint:revive // ctx carries outgoing metadata
	release, ok := h.streamSlot(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := streamContext(r, ctx) // ends the stream and its receiver on return
	defer cancel()
	st, err := h.client.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Body: body, Format: format,
		CallRequestId: logging.RequestID(r.Context())}, streamCallOptions...) // the id in the message, as complete's (ADR 0108)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	flusher, _ := w.(http.Flusher)
	rc := http.NewResponseController(w)
	started := false
	// The first message is received here, on the handler's goroutine: a
	// hand-off through the receiver's channel before the first byte cost a
	// goroutine switch (ADR 0067, ADR 0074 amendment). The receiver starts
	// once the first event is flushed: started before, its goroutine woke
	// another thread while the first byte was still being written (ADR
	// 0080); later messages wait in the gRPC stream's buffer meanwhile.
	ev := h.getBuf() // each event's bytes, written at once (writeEvent)
	defer h.putBuf(ev)
	first := new(inferencev1.StreamChatCompletionResponse)
	var msgs <-chan received
	sent := 0 // events written: the Responses error event's sequence_number
	for rm := (received{first, st.RecvMsg(first)}); ; rm = next(ctx, msgs) {
		msg, err := rm.msg, rm.err
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !started {
					startSSE(w, nil)
				}
				// The Responses stream ends with response.completed, not
				// with a [DONE] sentinel (OpenAI sends none there).
				if format != inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES {
					_, _ = w.Write(done)
				}
				if flusher != nil {
					flusher.Flush()
				}
				return
			}
			if !started {
				h.writeError(w, r, err)
				return
			}
			// Mid-stream: OpenAI sends an error event and ends the stream.
			if r.Context().Err() == nil {
				h.streamError(w, err, format, sent)
				if flusher != nil {
					flusher.Flush()
				}
			}
			return
		}
		if !started {
			startSSE(w, msg.GetHeaders())
			started = true
		}
		if writeEvent(w, ev, msg) != nil {
			return // client gone; returning cancels ctx and the stream
		}
		sent++
		if len(msgs) > 0 {
			continue // flushed with the events already waiting behind it
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if msgs == nil {
			msgs = receive(ctx, st)
		}
	}
}

// streamContext is the context of a chat stream's gRPC call and receiver,
// and what ends it once stream returns. A request served by net/http
// (http.ServerContextKey set: every request of the edge's server, and of
// httptest's) has a context net/http cancels when ServeHTTP returns, which
// ends the call, grpc-go's watcher and the receiver (grpc-go's own
// per-stream cancel context derives from it): a cancel context of the
// stream's own before the first byte cost ~1-2k instructions (its
// allocation, the parent's children map, the cancellation at the end;
// issue 15, ADR 0116). Any other request (a handler called directly) may
// have a context nobody ends: it gets a cancel context of its own, so a
// client gone mid-stream still cancels inference's stream.
func streamContext(r *http.Request, ctx context.Context) (context.Context, context.CancelFunc) { //nolint:revive // ctx carries outgoing metadata
	if r.Context().Value(http.ServerContextKey) != nil {
		return ctx, noCancel
	}
	return context.WithCancel(ctx)
}

func noCancel() {}

// writeEvent writes msg as one Server-Sent Event, composed in b and
// handed to w in one Write (three or four Writes through the access log's
// recorder and net/http's checks cost ~250 instructions per event more
// than the copy, issue 15, ADR 0100); an error means the client is gone.
// Event names are inference's fixed set; one with a line break would
// split the frame, so it is dropped rather than written.
func writeEvent(w http.ResponseWriter, b *bytes.Buffer, msg *inferencev1.StreamChatCompletionResponse) error {
	b.Reset()
	if ev := msg.GetEvent(); ev != "" && !strings.ContainsAny(ev, "\r\n") {
		b.Write(eventField)
		b.WriteString(ev)
		b.Write(newline)
	}
	b.Write(dataPrefix)
	b.Write(msg.GetChunk())
	b.Write(eventEnd)
	_, err := w.Write(b.Bytes())
	return err
}

// received is one message of a chat stream, or the error that ended it.
type received struct {
	msg *inferencev1.StreamChatCompletionResponse
	err error
}

// next is the receiver's next item; when ctx ended (the client went away)
// while the receiver waited to deliver, the channel is closed and the
// item is ctx's error.
func next(ctx context.Context, msgs <-chan received) received {
	rm, ok := <-msgs
	if !ok {
		rm.err = status.FromContextError(ctx.Err()).Err()
	}
	return rm
}

// receive reads st's messages on a receiver goroutine (receivers.go) until
// the stream ends (its last item carries the error, io.EOF at a normal end)
// or ctx does (the channel is closed then, maybe before that last item).
// stream flushes an event only when no other is waiting: inference's
// chunks often arrive together (a fast upstream sends its whole answer in
// a few TCP segments), and a flush per event cost one write syscall each,
// about a fifth of the edge's CPU per stream (issue 15). An event is never
// held back for one that has not arrived yet.
func receive(ctx context.Context, st recvStream) <-chan received {
	out := make(chan received, 8)
	startReceiving(recvJob{ctx: ctx, st: st, out: out})
	return out
}

// streamLevel is the level whose cap refused a stream.
type streamLevel int

const (
	levelKey    streamLevel = iota // the key's own cap
	levelPool                      // a rate pool's: the keys minted from one limited key
	levelTenant                    // the tenant's, across all its keys
)

// streamSlot takes one of the key's concurrent stream slots, one of each
// of its rate pools' (the limited keys it was minted or rotated from, ADR
// 0076: what is minted from a limited key shares its rate, and so its
// streams; authorization review 7) and one of its tenant's (ADR 0111 §3:
// keys minted from unlimited keys are in no pool, and a tenant's keys
// together hold at most the tenant's cap), or writes 429 with Retry-After
// and returns false when any of them already holds all of its slots open.
func (h *Handler) streamSlot(w http.ResponseWriter, r *http.Request) (func(), bool) {
	if h.streams == nil {
		return func() {}, true
	}
	p, _, _ := authn.FromContext(r.Context())
	tenantCap := h.tenantStreams(p)
	if h.maxStreams <= 0 && tenantCap <= 0 {
		return func() {}, true
	}
	release, level, ok := h.acquireStreams(r.Context(), p, tenantCap)
	if ok {
		return release, true
	}
	limit, whose := h.maxStreams, "this API key"
	switch level {
	case levelPool:
		whose = "the API keys minted from the same limited key (they share its streams)"
	case levelTenant:
		limit, whose = tenantCap, "this tenant (all of its API keys together)"
	}
	h.metrics.Limited("streams")
	httperr.SetRetryAfter(w.Header(), 1)
	httperr.Write(w, r, &httperr.Error{Status: http.StatusTooManyRequests, Code: httperr.CodeRateLimitExceeded, Type: httperr.TypeRequests,
		Param: "stream", Message: "Too many concurrent streams for " + whose + ": at most " + strconv.Itoa(limit) +
			" streaming requests may be open at once. Wait for one to finish, or send the request without \"stream\": true."})
	return nil, false
}

// tenantStreams is the cap on p's tenant's open streams: the edge's
// MaxStreamsPerTenant, or the platform admin's cap for this tenant when it
// set one (also above the default, ADR 0123 §3), narrowed by the tenant's
// own limit when it sets a smaller one (the owners' limits never lift the
// operator's cap); 0 or less is none.
func (h *Handler) tenantStreams(p *authv1.Principal) int {
	n := h.maxTenant
	if pc := p.GetLimits().GetPlatformMaxConcurrentStreams(); pc > 0 {
		n = int(min(pc, math.MaxInt32))
	}
	if t := p.GetLimits().GetTenantMaxConcurrentStreams(); t > 0 && (n <= 0 || t < int64(n)) {
		n = int(t)
	}
	return n
}

// acquireStreams takes a slot under the key, under each distinct pool of
// its requests and tokens chains and under its tenant (tenantCap); on a
// refusal it gives back what it took and reports which level refused.
func (h *Handler) acquireStreams(ctx context.Context, p *authv1.Principal, tenantCap int) (release func(), level streamLevel, ok bool) {
	key := p.GetKeyId()
	// The slots to take, in order: the key's, its pools' (distinct key
	// ids), the tenant's ("t:" and the verified principal's tenant id,
	// never a key id ("k:"), so the two cannot share a counter).
	var claims [ratelimit.MaxClaims]ratelimit.Claim
	claims[0] = ratelimit.Claim{Prefix: "k:", ID: key, Limit: h.maxStreams}
	n := 1
	if h.maxStreams > 0 && hasPools(p) {
		ids, m := poolIDs(p, key)
		for _, id := range ids[:m] {
			claims[n] = ratelimit.Claim{Prefix: "k:", ID: id, Limit: h.maxStreams}
			n++
		}
	}
	pools := n
	if tenantCap > 0 {
		claims[n] = ratelimit.Claim{Prefix: "t:", ID: p.GetTenantId(), Limit: tenantCap}
		n++
	}
	// In process: every slot under one lock, one allocation (ADR 0130).
	if m, isMem := h.streams.(*ratelimit.MemorySlots); isMem {
		release, refused := m.AcquireAll(claims[:n])
		switch {
		case refused < 0:
			return release, levelKey, true
		case refused == 0:
			return nil, levelKey, false
		case refused < pools:
			return nil, levelPool, false
		default:
			return nil, levelTenant, false
		}
	}
	return h.acquireEach(ctx, claims[:n], pools)
}

// hasPools reports whether p names any rate pool (most keys, minted from
// an unlimited key, name none): the pools' iterators are only set up then,
// their loop's closure being a heap object (ADR 0130).
func hasPools(p *authv1.Principal) bool {
	return len(p.GetRequestsPools()) > 0 || p.GetRequestsPool() != nil || len(p.GetTokensPools()) > 0 || p.GetTokensPool() != nil
}

// poolIDs are the distinct key ids of the pools of p's requests and
// tokens chains, in order.
func poolIDs(p *authv1.Principal, key string) (ids [2 * principal.MaxRatePools]string, n int) {
	for _, chain := range [2]iter.Seq[*authv1.RatePool]{
		principal.RatePools(p.GetRequestsPools(), p.GetRequestsPool(), key),
		principal.RatePools(p.GetTokensPools(), p.GetTokensPool(), key),
	} {
		for rp := range chain {
			if id := rp.GetKeyId(); n < len(ids) && !slices.Contains(ids[:n], id) {
				ids[n] = id
				n++
			}
		}
	}
	return ids, n
}

// acquireEach takes claims one by one through Slots.Acquire (the shared
// Redis slots), claims[0] the key's, claims[1:pools] its pools', the rest
// the tenant's; on a refusal it gives back what it took.
func (h *Handler) acquireEach(ctx context.Context, claims []ratelimit.Claim, pools int) (release func(), level streamLevel, ok bool) {
	releases := make([]func(), 0, len(claims))
	all := func() {
		for _, f := range releases {
			f()
		}
	}
	for i, c := range claims {
		f, ok := h.streams.Acquire(ctx, c.Prefix+c.ID, c.Limit)
		if !ok {
			all()
			switch {
			case i == 0:
				return nil, levelKey, false
			case i < pools:
				return nil, levelPool, false
			default:
				return nil, levelTenant, false
			}
		}
		releases = append(releases, f)
	}
	if len(releases) == 1 {
		return releases[0], levelKey, true
	}
	return all, levelKey, true
}

func startSSE(w http.ResponseWriter, extra map[string]string) {
	setHeaders(w, extra)
	hd := w.Header()
	hd["Content-Type"] = sseCT
	hd["Cache-Control"] = noCache
	hd["X-Accel-Buffering"] = accelNo
	w.WriteHeader(http.StatusOK)
}

// streamError writes the event that ends a stream broken after its start:
// chat's {"error":{...}} data event, or for the Responses API its "error"
// event ({"type":"error","code","message","param","sequence_number"}),
// numbered after the sent events before it (numbered from 0, as inference
// and a native upstream number them).
func (h *Handler) streamError(w http.ResponseWriter, err error, format inferencev1.RequestFormat, sent int) {
	e := fromGRPC(err)
	msg := e.Message
	if e.Status >= 500 {
		msg = "The stream was interrupted by a server error."
	}
	var param any
	if e.Param != "" {
		param = e.Param
	}
	var b []byte
	if format == inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES {
		b, _ = jsonMarshal(map[string]any{"type": "error", "message": msg, "param": param, "code": e.Code, "sequence_number": sent})
		_, _ = w.Write([]byte("event: error\n"))
	} else {
		b, _ = jsonMarshal(map[string]any{"error": map[string]any{"message": msg, "type": string(e.OpenAIType()), "param": param, "code": e.Code}})
	}
	_, _ = w.Write(dataPrefix)
	_, _ = w.Write(b)
	_, _ = w.Write(eventEnd)
}
