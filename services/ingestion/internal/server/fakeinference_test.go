package server_test

import (
	"context"
	"hash/fnv"
	"math"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// fakeInference serves inference's real gRPC API (gen/) over mTLS with the
// "inference" certificate and implements EmbedForTenant like inference
// does for ingestion: only the ingestion identity may call it, the model
// must be one the named tenant may use. Its "semantic-embed" model maps
// synonyms to one concept (car/automobile/vehicle), so a vector search can
// find what BM25 cannot. Down() makes it answer Unavailable, as inference
// does when the provider is unreachable.
type fakeInference struct {
	inferencev1.UnimplementedInferenceServiceServer
	addr string

	mu   sync.Mutex
	down bool
	// downBatches: Unavailable only for calls of several texts (jobs),
	// not for single-text probes and queries.
	downBatches bool
	calls       []fakeEmbedCall
	models      map[string][]string // tenant → models it may use
}

type fakeEmbedCall struct {
	Tenant, Key, Model string
	Inputs             int
}

const fakeModel, fakeDims = "semantic-embed", 64

func startFakeInference(t *testing.T, certDir string) *fakeInference {
	t.Helper()
	f := &fakeInference{models: map[string][]string{"acme": {fakeModel}, "globex": {fakeModel}}}
	src, err := mtls.NewSource(mtls.FilesFor(certDir, "inference"))
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
	inferencev1.RegisterInferenceServiceServer(gs, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f.addr = lis.Addr().String()
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return f
}

func (f *fakeInference) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeInference) setDownBatches(down bool) {
	f.mu.Lock()
	f.downBatches = down
	f.mu.Unlock()
}

func (f *fakeInference) embedCalls() []fakeEmbedCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeEmbedCall(nil), f.calls...)
}

func (f *fakeInference) EmbedForTenant(ctx context.Context, req *inferencev1.EmbedForTenantRequest) (*inferencev1.EmbedForTenantResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil || id.String() != pki.ServiceID("ingestion") {
		return nil, status.Error(codes.PermissionDenied, "caller not allowed")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || (f.downBatches && len(req.GetInputs()) > 1) {
		return nil, status.Error(codes.Unavailable, "The upstream provider is unavailable.")
	}
	allowed := false
	for _, m := range f.models[req.GetTenantId()] {
		allowed = allowed || m == req.GetModel()
	}
	if !allowed {
		return nil, status.Errorf(codes.NotFound, "The model `%s` does not exist or you do not have access to it.", req.GetModel())
	}
	f.calls = append(f.calls, fakeEmbedCall{Tenant: req.GetTenantId(), Key: req.GetKeyId(), Model: req.GetModel(), Inputs: len(req.GetInputs())})
	resp := &inferencev1.EmbedForTenantResponse{Model: req.GetModel()}
	for _, in := range req.GetInputs() {
		resp.Vectors = append(resp.Vectors, &inferencev1.Vector{Values: conceptVector(in)})
		resp.PromptTokens += int64(len(in)/4 + 1)
	}
	return resp, nil
}

var synonyms = map[string]string{"automobile": "car", "vehicle": "car", "cars": "car", "physician": "doctor", "medic": "doctor"}

// conceptVector hashes each word's concept (its synonym group) into
// fakeDims dimensions, L2-normalised.
func conceptVector(text string) []float32 {
	v := make([]float32, fakeDims)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if c, ok := synonyms[w]; ok {
			w = c
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(w))
		v[h.Sum32()%fakeDims]++
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
	}
	return v
}
