package ingestiontest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Search is one Search call as served, with the tenant of its verified
// principal.
type Search struct {
	Tenant, Collection, Query string
	TopK                      int32
}

// index is the double's state: the passages Search ranks, the searches
// served, the warning and the script.
type index struct {
	mu       sync.Mutex
	docs     map[string][]doc // tenant \x00 collection → passages
	searches []Search
	warning  string
	script   Script
}

// doc is a stored passage with its words counted once, at Add.
type doc struct {
	p     *ingestionv1.Passage
	words map[string]int
}

// Add creates the tenant's collection (if needed) with passages.
func (s *Server) Add(tenant, collection string, ps ...*ingestionv1.Passage) {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	k := tenant + "\x00" + collection
	if _, ok := s.index.docs[k]; !ok {
		s.index.docs[k] = []doc{}
	}
	for _, p := range ps {
		d := doc{p: proto.CloneOf(p), words: map[string]int{}}
		for _, w := range strings.FieldsFunc(strings.ToLower(p.GetText()), notWord) {
			d.words[w]++
		}
		s.index.docs[k] = append(s.index.docs[k], d)
	}
}

// Remove deletes the tenant's collection and its passages (a collection
// deleted after something named it).
func (s *Server) Remove(tenant, collection string) {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	delete(s.index.docs, tenant+"\x00"+collection)
}

// collections lists the verified principal's tenant's collections by name.
func (s *Server) collections(ctx context.Context) (*ingestionv1.ListCollectionsResponse, error) {
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return nil, status.Error(codes.Unauthenticated, "no principal")
	}
	s.index.mu.Lock()
	var names []string
	for k := range s.index.docs {
		if tenant, name, _ := strings.Cut(k, "\x00"); tenant == p.GetTenantId() {
			names = append(names, name)
		}
	}
	s.index.mu.Unlock()
	slices.Sort(names)
	out := &ingestionv1.ListCollectionsResponse{}
	for _, n := range names {
		out.Collections = append(out.Collections, &ingestionv1.Collection{Name: n})
	}
	return out, nil
}

// SetWarning makes every search answer with SearchResponse.warning set,
// as ingestion does when a collection's embedding model is unavailable.
func (s *Server) SetWarning(w string) {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	s.index.warning = w
}

// Searches returns the valid searches served so far, oldest first.
func (s *Server) Searches() []Search {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	return slices.Clone(s.index.searches)
}

// Search implements IngestionService: the tenant only from the verified
// principal, a collection of another tenant NotFound.
func (s *Server) Search(ctx context.Context, r *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	s.record(ctx, "Search", r)
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return nil, status.Error(codes.Unauthenticated, "no principal")
	}
	q := strings.TrimSpace(r.GetQuery())
	switch {
	case q == "" || len(q) > 4096:
		return nil, status.Error(codes.InvalidArgument, "query: is required and at most 4096 bytes")
	case r.GetTopK() < 0 || r.GetTopK() > 50:
		return nil, status.Error(codes.InvalidArgument, "top_k: must be 0-50")
	}
	s.index.mu.Lock()
	s.index.searches = append(s.index.searches, Search{Tenant: p.GetTenantId(), Collection: r.GetCollection(), Query: q, TopK: r.GetTopK()})
	docs, ok := s.index.docs[p.GetTenantId()+"\x00"+r.GetCollection()]
	warning := s.index.warning
	s.index.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "collection not found")
	}
	return &ingestionv1.SearchResponse{Passages: rank(docs, q, int(cmp.Or(r.GetTopK(), 5))), Warning: warning}, nil
}

// rank scores each passage by the number of the query's words (longer than
// three letters) it contains and returns the best k, best first, with
// score = count/100.
func rank(docs []doc, q string, k int) []*ingestionv1.Passage {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(q), notWord) {
		if len(w) > 3 {
			words[w] = true
		}
	}
	type hit struct {
		d     doc
		score float64
	}
	var hits []hit
	for _, d := range docs {
		n := 0
		for w := range words {
			n += d.words[w]
		}
		if n > 0 {
			hits = append(hits, hit{d, float64(n) / 100})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.score, a.score) })
	if len(hits) > k {
		hits = hits[:k]
	}
	out := make([]*ingestionv1.Passage, len(hits))
	for i, h := range hits {
		c := proto.CloneOf(h.d.p)
		c.Score = h.score
		out[i] = c
	}
	return out
}

func notWord(r rune) bool {
	return (r < 'a' || r > 'z') && (r < '0' || r > '9')
}
