package rag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// ErrUnavailable wraps a search failure that is not the caller's fault
// (ingestion down, timed out, internal error): the caller answers without
// retrieval and warns, rather than failing the chat.
var ErrUnavailable = errors.New("document search unavailable")

// DefaultTimeout bounds one retrieval (all collections).
const DefaultTimeout = 10 * time.Second

// Retriever searches collections through ingestion.
type Retriever struct {
	// Client is ingestion's generated client on an mTLS connection.
	Client ingestionv1.IngestionServiceClient
	// Timeout bounds a retrieval (DefaultTimeout when 0).
	Timeout time.Duration
}

// Query is one retrieval.
type Query struct {
	Collections []string
	Text        string
	TopK        int
	MinScore    float64
	// Params name the collections in errors ("rampart.collections[0]").
	Params []string
}

// Retrieve searches every collection (concurrently) with the caller's
// forwarded principal and returns the best TopK passages with a score of at
// least MinScore, best first. A collection the tenant does not have is a
// 404 naming it; a bad query is a 400; any other failure wraps
// ErrUnavailable.
func (r *Retriever) Retrieve(ctx context.Context, q Query) ([]provider.Passage, error) {
	ps, _, err := r.RetrieveWithWarning(ctx, q)
	return ps, err
}

// RetrieveWithWarning is Retrieve plus the first warning ingestion attached
// to a search (a collection whose embedding model is unavailable is
// searched by keywords only).
func (r *Retriever) RetrieveWithWarning(ctx context.Context, q Query) ([]provider.Passage, string, error) {
	if r == nil || r.Client == nil {
		return nil, "", fmt.Errorf("%w: ingestion is not configured", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(principal.ForwardTo(ctx, "ingestion"), cmp.Or(r.Timeout, DefaultTimeout))
	defer cancel()
	type result struct {
		ps      []*ingestionv1.Passage
		warning string
		err     error
	}
	results := make([]result, len(q.Collections))
	var wg sync.WaitGroup
	for i, c := range q.Collections {
		wg.Go(func() {
			res, err := r.Client.Search(ctx, &ingestionv1.SearchRequest{Collection: c, Query: q.Text, TopK: int32(q.TopK)}) //nolint:gosec // TopK ≤ wire.MaxTopK
			results[i] = result{res.GetPassages(), res.GetWarning(), err}
		})
	}
	wg.Wait()
	var all []*ingestionv1.Passage
	var warning string
	for i, res := range results {
		if res.err != nil {
			return nil, "", searchErr(q, i, res.err)
		}
		all = append(all, res.ps...)
		warning = cmp.Or(warning, res.warning)
	}
	// Scores of different collections are all ingestion's fused scores;
	// a stable sort keeps each collection's own order on ties.
	slices.SortStableFunc(all, func(a, b *ingestionv1.Passage) int { return cmp.Compare(b.GetScore(), a.GetScore()) })
	out := make([]provider.Passage, 0, min(len(all), q.TopK))
	for _, p := range all {
		if len(out) == q.TopK {
			break
		}
		if p.GetScore() < q.MinScore || strings.TrimSpace(p.GetText()) == "" {
			continue
		}
		out = append(out, Passage(p))
	}
	return out, warning, nil
}

// Passage maps one ingestion passage to the provider's.
func Passage(p *ingestionv1.Passage) provider.Passage {
	out := provider.Passage{
		ID: p.GetChunkId(), Text: p.GetText(), Source: p.GetSource(),
		DocumentID: p.GetDocumentId(), Title: p.GetTitle(), Heading: p.GetHeading(), Score: p.GetScore(),
		URL: cmp.Or(p.GetUrl(), linkOf(p.GetSource())),
	}
	if spans := p.GetSpans(); len(spans) > 0 {
		out.Spans = make([]provider.Span, len(spans))
		for i, s := range spans {
			l := s.GetLocation()
			out.Spans[i] = provider.Span{TextStart: int(s.GetTextStart()), TextEnd: int(s.GetTextEnd()), Location: wire.Location{
				Start: int(l.GetStart()), End: int(l.GetEnd()), Line: int(l.GetLine()), LineEnd: int(l.GetLineEnd()),
				Page: int(l.GetPage()), PageEnd: int(l.GetPageEnd()),
			}}
		}
	}
	return out
}

// linkOf returns source when it is an http(s) URL (a fetched document),
// else "".
func linkOf(source string) string {
	u, err := url.Parse(source)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return source
}

func searchErr(q Query, i int, err error) error {
	param := fmt.Sprintf("rampart.collections[%d]", i)
	if i < len(q.Params) {
		param = q.Params[i]
	}
	switch status.Code(err) {
	case codes.NotFound:
		// Ingestion answers NotFound for another tenant's collection too:
		// no existence leak, and that collection was never searched.
		return &apierr.Error{Kind: apierr.KindNotFound, Type: "invalid_request_error", Code: "collection_not_found", Param: param,
			Message: fmt.Sprintf("The collection `%s` does not exist or you do not have access to it.", q.Collections[i])}
	case codes.InvalidArgument:
		return apierr.Invalid(param, "The collection `%s` cannot be searched with this request: %s", q.Collections[i], status.Convert(err).Message())
	case codes.PermissionDenied, codes.Unauthenticated:
		return &apierr.Error{Kind: apierr.KindPermission, Type: "invalid_request_error", Code: "permission_denied", Param: param,
			Message: fmt.Sprintf("This API key may not search the collection `%s`.", q.Collections[i])}
	case codes.Canceled:
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
