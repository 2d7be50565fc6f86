package server

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// Scopes checked by the handlers.
const (
	ScopeChat       = "chat:write"
	ScopeIngestRead = "ingest:read"
	ScopeEmbeddings = "embeddings:write"
	ScopeUsage      = "usage:read"
)

// Server implements inferencev1.InferenceServiceServer.
type Server struct {
	inferencev1.UnimplementedInferenceServiceServer
	svc *inference.Service
	log *slog.Logger
}

// New returns the gRPC server for svc.
func New(svc *inference.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{svc: svc, log: log}
}

// Register registers the service on s.
func (s *Server) Register(g grpc.ServiceRegistrar) { inferencev1.RegisterInferenceServiceServer(g, s) }

func requestID(ctx context.Context) string {
	if id := logging.RequestID(ctx); id != "" {
		return id
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-request-id"); len(v) > 0 && len(v[0]) <= 128 {
			return v[0]
		}
	}
	return ""
}

// caller builds the Caller from the verified principal only.
func caller(ctx context.Context, scope string) (*inference.Caller, error) {
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	// Role is not a scope: the role only narrows what a scope allows
	// (promptLogReader), it never stands in for one.
	if !principal.HasScope(p, scope) {
		return nil, status.Errorf(codes.PermissionDenied, "the API key lacks the %s scope", scope)
	}
	l := p.GetLimits()
	lim := quota.Limits{
		KeyTPM: l.GetTokensPerMinute(), TenantTPM: l.GetTenantTokensPerMinute(),
		KeyBudget: l.GetMonthlyTokenBudget(), TenantBudget: l.GetTenantMonthlyTokenBudget(), BudgetKey: p.GetBudgetKeyId(),
	}
	for rp := range principal.RatePools(p.GetTokensPools(), p.GetTokensPool(), p.GetKeyId()) {
		lim.AddPool(rp.GetKeyId(), rp.GetPerMinute())
	}
	return &inference.Caller{
		Tenant: p.GetTenantId(), Key: p.GetKeyId(), Subject: p.GetSubject(),
		AllowedModels: p.GetAllowedModels(), TenantAllowedModels: p.GetTenantAllowedModels(),
		Limits:    lim,
		RequestID: requestID(ctx),
		CanSearch: principal.HasScope(p, ScopeIngestRead),
	}, nil
}

func passages(in []*inferencev1.Passage) []provider.Passage {
	if len(in) == 0 {
		return nil
	}
	out := make([]provider.Passage, len(in))
	for i, p := range in {
		out[i] = provider.Passage{ID: p.GetId(), Text: p.GetText(), Source: p.GetSource()}
	}
	return out
}

// ChatCompletion implements inferencev1.InferenceServiceServer.
func (s *Server) ChatCompletion(ctx context.Context, req *inferencev1.ChatCompletionRequest) (*inferencev1.ChatCompletionResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	s.svc.NoteTenantLimits(c)
	var out *inference.Output
	switch req.GetFormat() {
	case inferencev1.RequestFormat_REQUEST_FORMAT_COMPLETIONS:
		out, err = s.svc.Completions(ctx, c, req.GetBody())
	case inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES:
		out, err = s.svc.Responses(ctx, c, req.GetBody())
	default:
		out, err = s.svc.Chat(ctx, c, req.GetBody(), passages(req.GetPassages()))
	}
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.ChatCompletionResponse{Body: out.Body, Headers: out.Headers}, nil
}

// StreamChatCompletion implements inferencev1.InferenceServiceServer.
func (s *Server) StreamChatCompletion(req *inferencev1.StreamChatCompletionRequest, stream grpc.ServerStreamingServer[inferencev1.StreamChatCompletionResponse]) error {
	ctx := stream.Context()
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return err
	}
	s.svc.NoteTenantLimits(c)
	msg := &inferencev1.StreamChatCompletionResponse{}
	first := true
	send := func(chunk []byte, h map[string]string) error {
		msg.Chunk, msg.Headers = chunk, h
		if err := stream.Send(msg); err != nil {
			return err
		}
		if first {
			first = false
			yieldToWriter()
		}
		return nil
	}
	switch req.GetFormat() {
	case inferencev1.RequestFormat_REQUEST_FORMAT_COMPLETIONS:
		err = s.svc.StreamCompletions(ctx, c, req.GetBody(), send)
	case inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES:
		err = s.svc.StreamResponses(ctx, c, req.GetBody(), func(event string, data []byte, h map[string]string) error {
			msg.Event = event
			return send(data, h)
		})
	default:
		err = s.svc.Stream(ctx, c, req.GetBody(), passages(req.GetPassages()), send)
	}
	return grpcerr.ToStatus(ctx, s.log, err)
}

// yieldToWriter lets the connection's writer put the stream's first
// message on the wire before the handler goes on (ADR 0073). Send only
// queues a message for grpc-go's writer goroutine (loopy), which the send
// wakes onto this P's run-next slot; an upstream's chunks often arrive in
// one read, so without a yield the handler would build and queue every
// chunk before the writer ran, and the first byte would leave with the last
// in one write. The writer, once running, takes what is queued, yields
// once itself when its batch is small (runtime.Gosched in loopyWriter.run)
// and flushes when it finds nothing new after that yield: hence two yields
// here, the first to let it write the message, the second to let it find
// the queue still empty and flush. Only the first message gets them: later
// ones may share a write, and a handler waiting on its upstream lets the
// writer run anyway.
func yieldToWriter() {
	runtime.Gosched()
	runtime.Gosched()
}

// Embeddings implements inferencev1.InferenceServiceServer.
func (s *Server) Embeddings(ctx context.Context, req *inferencev1.EmbeddingsRequest) (*inferencev1.EmbeddingsResponse, error) {
	c, err := caller(ctx, ScopeEmbeddings)
	if err != nil {
		return nil, err
	}
	s.svc.NoteTenantLimits(c)
	out, err := s.svc.Embeddings(ctx, c, req.GetBody())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.EmbeddingsResponse{Body: out.Body, Headers: out.Headers}, nil
}

// EmbedForTenant implements inferencev1.InferenceServiceServer. Only
// ingestion reaches it (the authz allow-list; the method is exempt from the
// principal check because background jobs outlive assertions), so the
// request's tenant is trusted: ADR 0023.
func (s *Server) EmbedForTenant(ctx context.Context, req *inferencev1.EmbedForTenantRequest) (*inferencev1.EmbedForTenantResponse, error) {
	if req.GetTenantId() == "" {
		return nil, grpcerr.ToStatus(ctx, s.log, apierr.Invalid("tenant_id", "tenant_id is required."))
	}
	var carried *quota.Limits
	if l := req.GetTenantLimits(); l != nil {
		carried = &quota.Limits{TenantTPM: l.GetTokensPerMinute(), TenantBudget: l.GetMonthlyTokenBudget()}
	}
	out, err := s.svc.EmbedForTenant(ctx, inference.TenantEmbedCall{Tenant: req.GetTenantId(), Key: req.GetKeyId(), Model: req.GetModel(),
		Inputs: req.GetInputs(), Carried: carried, KeyLimits: keyLimits(req.GetKeyLimits()), RequestID: requestID(ctx)})
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	resp := &inferencev1.EmbedForTenantResponse{Model: out.Model, PromptTokens: out.PromptTokens,
		Vectors: make([]*inferencev1.Vector, len(out.Vectors))}
	for i, v := range out.Vectors {
		resp.Vectors[i] = &inferencev1.Vector{Values: v}
	}
	return resp, nil
}

// keyLimits are a search's carried key limits as quota limits (nil: none,
// a background job), built as caller builds a principal's.
func keyLimits(k *inferencev1.KeyLimits) *inference.KeyLimits {
	if k == nil {
		return nil
	}
	l := &inference.KeyLimits{KeyTPM: k.GetTokensPerMinute(), KeyBudget: k.GetMonthlyTokenBudget(), BudgetKey: k.GetBudgetKeyId()}
	for _, p := range k.GetTokensPools() {
		l.AddPool(p.GetKeyId(), p.GetTokensPerMinute())
	}
	return l
}

// ListModels implements inferencev1.InferenceServiceServer.
func (s *Server) ListModels(ctx context.Context, _ *inferencev1.ListModelsRequest) (*inferencev1.ListModelsResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	entries, err := s.svc.ListModels(ctx, c)
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	out := &inferencev1.ListModelsResponse{Models: make([]*inferencev1.Model, len(entries))}
	for i, e := range entries {
		out.Models[i] = &inferencev1.Model{Id: e.ID, OwnedBy: e.OwnedBy, Created: e.Created}
	}
	return out, nil
}

// GetModel implements inferencev1.InferenceServiceServer.
func (s *Server) GetModel(ctx context.Context, req *inferencev1.GetModelRequest) (*inferencev1.GetModelResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	e, err := s.svc.GetModel(ctx, c, req.GetModel())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.GetModelResponse{Model: &inferencev1.Model{Id: e.ID, OwnedBy: e.OwnedBy, Created: e.Created}}, nil
}

// GetUsage implements inferencev1.InferenceServiceServer.
func (s *Server) GetUsage(ctx context.Context, req *inferencev1.GetUsageRequest) (*inferencev1.GetUsageResponse, error) {
	c, err := caller(ctx, ScopeUsage)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.Usage(ctx, c, req.GetFrom(), req.GetTo(), req.GetGroupBy())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	out := &inferencev1.GetUsageResponse{
		From: r.From.Format(time.RFC3339), To: r.To.Format(time.RFC3339), GroupBy: r.GroupBy,
		Total: bucket(r.Total), Buckets: make([]*inferencev1.UsageBucket, len(r.Buckets)),
	}
	out.Total.Group = "total"
	for i, b := range r.Buckets {
		out.Buckets[i] = bucket(b)
	}
	return out, nil
}
