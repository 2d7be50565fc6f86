package servertest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// FakeIngestion is a test double of ingestion's Search served over real
// mTLS with real principal verification. Like ingestion it takes the tenant
// only from the verified principal (a collection of another tenant is
// NotFound), allows only the inference identity, and validates the query
// and top_k the same way. Ranking is a plain count of shared words, enough
// to tell a relevant passage from an irrelevant one.
type FakeIngestion struct {
	// Addr is the gRPC address on loopback.
	Addr string

	gs       *grpc.Server
	mu       sync.Mutex
	docs     map[string][]doc // tenant \x00 collection → passages
	searches []Search
	warning  string
}

// SetWarning makes every search answer with SearchResponse.warning set,
// as ingestion does when a collection's embedding model is unavailable.
func (f *FakeIngestion) SetWarning(w string) {
	f.mu.Lock()
	f.warning = w
	f.mu.Unlock()
}

// doc is a stored passage with its words counted once, at Add.
type doc struct {
	p     *ingestionv1.Passage
	words map[string]int
}

// Search is one Search call as served.
type Search struct {
	Tenant, Collection, Query string
	TopK                      int32
}

// StartIngestion serves a FakeIngestion with the "ingestion" certificate of
// pkiDir, verifying principal assertions with keys.
func StartIngestion(t testing.TB, pkiDir string, keys principal.Keys) *FakeIngestion {
	t.Helper()
	v := principal.NewVerifier(keys)
	gs := grpctest.NewMTLSServer(t, pkiDir, "ingestion",
		grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(v, principal.ExemptMethods())))
	f := &FakeIngestion{gs: gs, docs: map[string][]doc{}}
	ingestionv1.RegisterIngestionServiceServer(gs, &fakeSearch{f: f})
	f.Addr = grpctest.Serve(t, gs)
	return f
}

// Add creates the tenant's collection (if needed) with passages.
func (f *FakeIngestion) Add(tenant, collection string, ps ...*ingestionv1.Passage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := tenant + "\x00" + collection
	if _, ok := f.docs[k]; !ok {
		f.docs[k] = []doc{}
	}
	for _, p := range ps {
		d := doc{p: p, words: map[string]int{}}
		for _, w := range strings.FieldsFunc(strings.ToLower(p.GetText()), notWord) {
			d.words[w]++
		}
		f.docs[k] = append(f.docs[k], d)
	}
}

// Searches returns the calls served so far.
func (f *FakeIngestion) Searches() []Search {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.searches)
}

// Stop stops serving (ingestion down).
func (f *FakeIngestion) Stop() { f.gs.Stop() }

type fakeSearch struct {
	ingestionv1.UnimplementedIngestionServiceServer
	f *FakeIngestion
}

func (s *fakeSearch) Search(ctx context.Context, r *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil || id.String() != pki.ServiceID("inference") {
		return nil, status.Error(codes.PermissionDenied, "caller not allowed")
	}
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
	f := s.f
	f.mu.Lock()
	f.searches = append(f.searches, Search{Tenant: p.GetTenantId(), Collection: r.GetCollection(), Query: q, TopK: r.GetTopK()})
	docs, ok := f.docs[p.GetTenantId()+"\x00"+r.GetCollection()]
	warning := f.warning
	f.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "collection not found")
	}
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
	if k := int(cmp.Or(r.GetTopK(), 5)); len(hits) > k {
		hits = hits[:k]
	}
	out := make([]*ingestionv1.Passage, len(hits))
	for i, h := range hits {
		c, _ := proto.Clone(h.d.p).(*ingestionv1.Passage)
		c.Score = h.score
		out[i] = c
	}
	return &ingestionv1.SearchResponse{Passages: out, Warning: warning}, nil
}

func notWord(r rune) bool {
	return (r < 'a' || r > 'z') && (r < '0' || r > '9')
}
