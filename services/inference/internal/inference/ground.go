package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/rag"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// WarningRetrievalUnavailable is rampart.warning when the documents could
// not be searched: the answer is the model's own, not grounded.
const WarningRetrievalUnavailable = "Document search is unavailable right now; this answer is not grounded in your documents."

// retrieval is what a request asks to retrieve: its own rampart extension,
// merged over an assistant's settings.
type retrieval struct {
	collections []string
	params      []string // field names for errors, per collection
	topK        int
	minScore    float64
}

// grounding is a prepared call: the request providers see (the rampart
// extension removed) and, when retrieval ran, its passages.
type grounding struct {
	req       *wire.ChatRequest
	given     []provider.Passage // supplied by an internal caller
	retrieved []provider.Passage
	grounded  bool   // retrieval ran and its passages are the only sources
	noAnswer  string // retrieval found nothing: the fixed answer
	warning   string
	// prompted: the passages went to a language model in a grounded
	// prompt, so its answer's [n] markers name the citations.
	prompted bool
}

// ground runs retrieval for req (when it asks for it) and prepares the
// calls. Errors are the caller's (404 collection, 400); search failures
// become a warning and an ungrounded answer.
func (s *Service) ground(ctx context.Context, c *Caller, req *wire.ChatRequest, given []provider.Passage, ret *retrieval) (*grounding, error) {
	g := new(grounding)
	if err := s.groundInto(ctx, c, req, given, ret, g); err != nil {
		return nil, err
	}
	return g, nil
}

// groundInto is ground into g, which it does not keep: Chat's g stays on
// its stack (issue 15, ADR 0081). g is complete only without an error.
func (s *Service) groundInto(ctx context.Context, c *Caller, req *wire.ChatRequest, given []provider.Passage, ret *retrieval, g *grounding) error {
	*g = grounding{req: req, given: given}
	if req.Rampart != nil {
		r := *req
		r.Rampart = nil
		g.req = &r
	}
	if ret == nil || len(ret.collections) == 0 {
		return nil
	}
	q := rag.QueryText(req.Messages)
	if q == "" {
		return wire.ErrNoUserMessage()
	}
	ps, warning, err := s.Retriever.RetrieveWithWarning(ctx, rag.Query{Collections: ret.collections, Params: ret.params, Text: q, TopK: ret.topK, MinScore: ret.minScore})
	switch {
	case errors.Is(err, rag.ErrUnavailable):
		s.Log.LogAttrs(ctx, slog.LevelWarn, "retrieval failed, answering without documents",
			slog.String("tenant_id", c.Tenant), slog.String("request_id", c.RequestID), slog.String("error", err.Error()))
		s.Metrics.retrievalFailed()
		g.warning = WarningRetrievalUnavailable
		return nil
	case err != nil:
		return err
	}
	// e.g. keyword search only, the collection's embedding model being down
	g.grounded, g.retrieved, g.warning = true, ps, warning
	if len(ps) == 0 {
		g.noAnswer = fmt.Sprintf("The documents in %s do not contain an answer to this question.", listNames(ret.collections))
	}
	return nil
}

func listNames(cs []string) string {
	q := make([]string, len(cs))
	for i, c := range cs {
		q[i] = "`" + c + "`"
	}
	if len(q) == 1 {
		return "the collection " + q[0]
	}
	return "the collections " + strings.Join(q, ", ")
}

// call is the provider call for model m: a language model gets the
// passages in a grounded system message; the local extractive answerer
// gets them as passages to quote.
func (g *grounding) call(m *registry.Model, p provider.Provider) *provider.ChatCall {
	call := &provider.ChatCall{UpstreamModel: m.UpstreamModel, Request: g.req, Passages: g.given}
	if !g.grounded || len(g.retrieved) == 0 {
		return call
	}
	if p.Name() == "local" {
		call.Passages, call.Grounded = g.retrieved, true
		return call
	}
	call.Request = rag.Ground(g.req, g.retrieved)
	g.prompted = true
	return call
}

// provider is the provider that answers: a fixed "not in the documents"
// answer when retrieval found nothing (no model is asked, so nothing can
// be made up), else the model's.
func (g *grounding) provider(s *Service, m *registry.Model) provider.Provider {
	if g.noAnswer != "" {
		return fixed{text: g.noAnswer}
	}
	return s.Providers[m.Upstream]
}

// citations completes a result's citations: a language model's answer
// cites the retrieved passages it names as [n]; the extractive answerer
// returns its own.
func (g *grounding) citations(own []wire.Citation, content string) []wire.Citation {
	if len(own) > 0 || !g.prompted {
		return own
	}
	return rag.Citations(g.retrieved, content)
}

// extension is the response's rampart object (nil when empty).
func (g *grounding) extension(ext *wire.Extension) *wire.Extension {
	ext.Warning = g.warning
	if ext.Empty() {
		return nil
	}
	return ext
}

// fixed answers with a fixed text and no usage (no model ran).
type fixed struct{ text string }

func (fixed) Name() string { return "fixed" }
func (fixed) Capabilities(string) provider.Capabilities {
	return provider.Capabilities{Chat: true, Stream: true}
}
func (fixed) Embed(context.Context, *provider.EmbedCall) (*provider.EmbedResult, error) {
	return nil, errors.New("fixed answers do not embed")
}

func (f fixed) Chat(ctx context.Context, _ *provider.ChatCall) (*provider.ChatResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &provider.ChatResult{Content: f.text, HasContent: true, FinishReason: "stop", Usage: provider.Usage{Reported: true}}, nil
}

func (f fixed) Stream(ctx context.Context, _ *provider.ChatCall, emit func(*provider.Delta) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := emit(&provider.Delta{Content: f.text}); err != nil {
		return err
	}
	return emit(&provider.Delta{FinishReason: "stop", Usage: &provider.Usage{Reported: true}})
}

// requestRetrieval is the retrieval a request's own rampart extension asks
// for (nil: none).
func requestRetrieval(req *wire.ChatRequest) *retrieval {
	if !req.Retrieval() {
		return nil
	}
	r := &retrieval{collections: req.Rampart.Collections, topK: wire.DefaultTopK}
	for i := range r.collections {
		r.params = append(r.params, fmt.Sprintf("rampart.collections[%d]", i))
	}
	if req.Rampart.TopK != nil {
		r.topK = *req.Rampart.TopK
	}
	if req.Rampart.MinScore != nil {
		r.minScore = *req.Rampart.MinScore
	}
	return r
}
