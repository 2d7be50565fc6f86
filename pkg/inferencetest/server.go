package inferencetest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Options configure Start.
type Options struct {
	// Keys verify the principal assertions every call must carry (inference
	// requires one on every method the double serves).
	Keys principal.Keys
	// Callers, when set, are the only service identities admitted (names
	// of the test PKI, e.g. "edge"); others get PermissionDenied, as from
	// inference's allow-list. Empty admits whom the permission table admits.
	Callers []string
	// Models are offered to every tenant (nil: "echo", owned by rampart).
	Models []*inferencev1.Model
	// Script answers the chat, embeddings and stored-response calls (nil:
	// Echo).
	Script Script
	// Embedder answers EmbedForTenant, ingestion's call for a background
	// job's chunks (nil: Unimplemented). The double checks first, as
	// inference does, that the named tenant may use the model.
	Embedder Embedder
}

// Embedder returns one vector per input, or an error (a gRPC status, e.g.
// Unavailable for an embedding upstream that is down).
type Embedder func(c *Call, inputs []string) ([][]float32, error)

// Server is the running stand-in.
type Server struct {
	inferencev1.UnimplementedInferenceServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string

	canceled atomic.Int64
	grpc     *grpc.Server

	calls grpctest.Log[Call]

	mu       sync.Mutex
	script   Script
	embedder Embedder
	models   []*inferencev1.Model
	tenantMs map[string][]*inferencev1.Model
	held     chan struct{} // closed and replaced when a stream starts holding
}

// Start serves a stand-in with the "inference" certificate of certDir
// (pkitest.NewDir(t, "inference", "edge", ...)) until the test ends.
func Start(t testing.TB, certDir string, o Options) *Server {
	t.Helper()
	require.NotNil(t, o.Keys, "inferencetest: Options.Keys verify the principal assertions")
	s := &Server{script: o.Script, embedder: o.Embedder, models: o.Models,
		tenantMs: map[string][]*inferencev1.Model{}, held: make(chan struct{})}
	if s.models == nil {
		s.models = []*inferencev1.Model{{Id: "echo", OwnedBy: "rampart"}}
	}
	s.grpc = grpctest.NewGuardedServer(t, certDir, "inference", inferencev1.InferenceService_ServiceDesc.ServiceName, o.Keys, o.Callers...)
	inferencev1.RegisterInferenceServiceServer(s.grpc, s)
	s.Addr = grpctest.Serve(t, s.grpc)
	return s
}

// Stop stops serving at once (inference down).
func (s *Server) Stop() { s.grpc.Stop() }

// SetScript replaces the script (nil: Echo); safe while calls are served.
func (s *Server) SetScript(sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = sc
}

// AddModel offers m to tenant only (an assistant of that tenant).
func (s *Server) AddModel(tenant string, m *inferencev1.Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenantMs[tenant] = append(s.tenantMs[tenant], m)
}

// Calls returns the calls served so far, oldest first.
func (s *Server) Calls() []Call {
	return s.calls.All()
}

// LastCall returns the newest call of method (a short name such as
// "StreamChatCompletion"), and false if there was none.
func (s *Server) LastCall(method string) (Call, bool) {
	return s.calls.Last(func(c Call) bool { return c.Method == method })
}

// Canceled is the number of held streams (Answer.Hold) whose client went
// away.
func (s *Server) Canceled() int64 { return s.canceled.Load() }

// record notes the call and returns it with the script to answer it.
func (s *Server) record(ctx context.Context, method string, req proto.Message) (*Call, Script) {
	c := Call{Call: grpctest.CallOf(ctx, method, req)}
	switch r := req.(type) {
	case *inferencev1.ChatCompletionRequest:
		c.Body, c.Format = slices.Clone(r.GetBody()), r.GetFormat()
	case *inferencev1.StreamChatCompletionRequest:
		c.Body, c.Format = slices.Clone(r.GetBody()), r.GetFormat()
	case *inferencev1.EmbeddingsRequest:
		c.Body = slices.Clone(r.GetBody())
	case *inferencev1.EmbedForTenantRequest:
		c.Tenant, c.Model = r.GetTenantId(), r.GetModel()
	case interface{ GetId() string }:
		c.ID = r.GetId()
	}
	s.calls.Add(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.script == nil {
		return &c, Echo
	}
	return &c, s.script
}

// unary answers a call with one body.
func (s *Server) unary(ctx context.Context, method string, req proto.Message) (Answer, error) {
	c, sc := s.record(ctx, method, req)
	a := sc(c)
	if a.Err != nil {
		return a, a.Err
	}
	return a, nil
}

// ChatCompletion implements InferenceService.
func (s *Server) ChatCompletion(ctx context.Context, r *inferencev1.ChatCompletionRequest) (*inferencev1.ChatCompletionResponse, error) {
	a, err := s.unary(ctx, "ChatCompletion", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.ChatCompletionResponse{Body: a.Body, Headers: a.Headers}, nil
}

// StreamChatCompletion implements InferenceService: the script's chunks,
// then its error, or (Hold) the stream kept open until the client goes
// away.
func (s *Server) StreamChatCompletion(r *inferencev1.StreamChatCompletionRequest, st grpc.ServerStreamingServer[inferencev1.StreamChatCompletionResponse]) error {
	c, sc := s.record(st.Context(), "StreamChatCompletion", r)
	a := sc(c)
	for i, ch := range a.Chunks {
		if i == 0 && len(a.Headers) > 0 && ch.GetHeaders() == nil {
			ch, _ = proto.Clone(ch).(*inferencev1.StreamChatCompletionResponse)
			ch.Headers = a.Headers
		}
		if err := st.Send(ch); err != nil {
			return err
		}
	}
	if a.Hold {
		s.mu.Lock()
		close(s.held)
		s.held = make(chan struct{})
		s.mu.Unlock()
		<-st.Context().Done()
		s.canceled.Add(1)
		return status.FromContextError(st.Context().Err()).Err()
	}
	return a.Err
}

// Holding returns a channel closed when the next stream starts holding
// (Answer.Hold), after its chunks were sent.
func (s *Server) Holding() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Embeddings implements InferenceService.
func (s *Server) Embeddings(ctx context.Context, r *inferencev1.EmbeddingsRequest) (*inferencev1.EmbeddingsResponse, error) {
	a, err := s.unary(ctx, "Embeddings", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.EmbeddingsResponse{Body: a.Body}, nil
}

// GetResponse implements InferenceService.
func (s *Server) GetResponse(ctx context.Context, r *inferencev1.GetResponseRequest) (*inferencev1.GetResponseResponse, error) {
	a, err := s.unary(ctx, "GetResponse", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.GetResponseResponse{Body: a.Body}, nil
}

// DeleteResponse implements InferenceService.
func (s *Server) DeleteResponse(ctx context.Context, r *inferencev1.DeleteResponseRequest) (*inferencev1.DeleteResponseResponse, error) {
	a, err := s.unary(ctx, "DeleteResponse", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.DeleteResponseResponse{Body: a.Body}, nil
}

// ListResponseInputItems implements InferenceService.
func (s *Server) ListResponseInputItems(ctx context.Context, r *inferencev1.ListResponseInputItemsRequest) (*inferencev1.ListResponseInputItemsResponse, error) {
	a, err := s.unary(ctx, "ListResponseInputItems", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.ListResponseInputItemsResponse{Body: a.Body}, nil
}

// CancelResponse implements InferenceService.
func (s *Server) CancelResponse(ctx context.Context, r *inferencev1.CancelResponseRequest) (*inferencev1.CancelResponseResponse, error) {
	a, err := s.unary(ctx, "CancelResponse", r)
	if err != nil {
		return nil, err
	}
	return &inferencev1.CancelResponseResponse{Body: a.Body}, nil
}

// visible returns the models the caller's principal may use, sorted by id:
// every tenant's and its own, narrowed to its allowed_models when set.
func (s *Server) visible(ctx context.Context) []*inferencev1.Model {
	p, _ := principal.FromContext(ctx)
	s.mu.Lock()
	all := slices.Concat(s.models, s.tenantMs[p.GetTenantId()])
	s.mu.Unlock()
	allowed := p.GetAllowedModels()
	out := make([]*inferencev1.Model, 0, len(all))
	for _, m := range all {
		if len(allowed) == 0 || slices.Contains(allowed, "*") || slices.Contains(allowed, m.GetId()) {
			out = append(out, proto.CloneOf(m))
		}
	}
	slices.SortFunc(out, func(a, b *inferencev1.Model) int { return cmp.Compare(a.GetId(), b.GetId()) })
	return out
}

// ListModels implements InferenceService.
func (s *Server) ListModels(ctx context.Context, r *inferencev1.ListModelsRequest) (*inferencev1.ListModelsResponse, error) {
	s.record(ctx, "ListModels", r)
	return &inferencev1.ListModelsResponse{Models: s.visible(ctx)}, nil
}

// GetModel implements InferenceService: a model the caller may not use is
// NotFound, like one that does not exist.
func (s *Server) GetModel(ctx context.Context, r *inferencev1.GetModelRequest) (*inferencev1.GetModelResponse, error) {
	s.record(ctx, "GetModel", r)
	for _, m := range s.visible(ctx) {
		if m.GetId() == r.GetModel() {
			return &inferencev1.GetModelResponse{Model: m}, nil
		}
	}
	return nil, APIError{Code: codes.NotFound, Message: "The model '" + r.GetModel() + "' does not exist or you do not have access to it.",
		OpenAICode: "model_not_found", Type: "invalid_request_error", Param: "model"}.Err()
}

// SetEmbedder replaces the embedder (nil: Unimplemented); safe while calls
// are served.
func (s *Server) SetEmbedder(e Embedder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.embedder = e
}

// EmbedForTenant implements InferenceService: a model the named tenant may
// not use is NotFound, as from inference; the vectors come from the
// Embedder.
func (s *Server) EmbedForTenant(ctx context.Context, r *inferencev1.EmbedForTenantRequest) (*inferencev1.EmbedForTenantResponse, error) {
	c, _ := s.record(ctx, "EmbedForTenant", r)
	s.mu.Lock()
	e := s.embedder
	offered := slices.ContainsFunc(slices.Concat(s.models, s.tenantMs[r.GetTenantId()]),
		func(m *inferencev1.Model) bool { return m.GetId() == r.GetModel() })
	s.mu.Unlock()
	if e == nil {
		return nil, status.Error(codes.Unimplemented, "inferencetest: no Embedder set")
	}
	if !offered {
		return nil, APIError{Code: codes.NotFound, Message: "The model `" + r.GetModel() + "` does not exist or you do not have access to it.",
			OpenAICode: "model_not_found", Type: "invalid_request_error", Param: "model"}.Err()
	}
	vecs, err := e(c, r.GetInputs())
	if err != nil {
		return nil, err
	}
	resp := &inferencev1.EmbedForTenantResponse{Model: r.GetModel(), Vectors: make([]*inferencev1.Vector, len(vecs))}
	for i, v := range vecs {
		resp.Vectors[i] = &inferencev1.Vector{Values: v}
	}
	for _, in := range r.GetInputs() {
		resp.PromptTokens += int64(len(in)/4 + 1) // a rough count, so usage is charged
	}
	return resp, nil
}
