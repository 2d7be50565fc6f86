package server

import (
	"context"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
)

// ScopeAdmin manages assistants (owner and admin keys may hold it).
const ScopeAdmin = "admin"

func assistantMsg(a inference.Assistant) *inferencev1.Assistant {
	return &inferencev1.Assistant{Name: a.Name, Model: a.Model, Collections: a.Collections, SystemPrompt: a.SystemPrompt,
		TopK: int32(a.TopK), MinScore: a.MinScore, Description: a.Description, Created: a.Created.Unix()} //nolint:gosec // TopK ≤ 50
}

// CreateAssistant implements inferencev1.InferenceServiceServer.
func (s *Server) CreateAssistant(ctx context.Context, req *inferencev1.CreateAssistantRequest) (*inferencev1.CreateAssistantResponse, error) {
	c, err := caller(ctx, ScopeAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetAssistant()
	a, err := s.svc.CreateAssistant(ctx, c, inference.Assistant{Name: in.GetName(), Model: in.GetModel(), Collections: in.GetCollections(),
		SystemPrompt: in.GetSystemPrompt(), TopK: int(in.GetTopK()), MinScore: in.GetMinScore(), Description: in.GetDescription()})
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.CreateAssistantResponse{Assistant: assistantMsg(a)}, nil
}

// ListAssistants implements inferencev1.InferenceServiceServer.
func (s *Server) ListAssistants(ctx context.Context, _ *inferencev1.ListAssistantsRequest) (*inferencev1.ListAssistantsResponse, error) {
	c, err := caller(ctx, ScopeAdmin)
	if err != nil {
		return nil, err
	}
	as, err := s.svc.Assistants(ctx, c)
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	out := &inferencev1.ListAssistantsResponse{Assistants: make([]*inferencev1.Assistant, len(as))}
	for i, a := range as {
		out.Assistants[i] = assistantMsg(a)
	}
	return out, nil
}

// GetAssistant implements inferencev1.InferenceServiceServer.
func (s *Server) GetAssistant(ctx context.Context, req *inferencev1.GetAssistantRequest) (*inferencev1.GetAssistantResponse, error) {
	c, err := caller(ctx, ScopeAdmin)
	if err != nil {
		return nil, err
	}
	a, err := s.svc.GetAssistant(ctx, c, req.GetName())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.GetAssistantResponse{Assistant: assistantMsg(a)}, nil
}

// DeleteAssistant implements inferencev1.InferenceServiceServer.
func (s *Server) DeleteAssistant(ctx context.Context, req *inferencev1.DeleteAssistantRequest) (*inferencev1.DeleteAssistantResponse, error) {
	c, err := caller(ctx, ScopeAdmin)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteAssistant(ctx, c, req.GetName()); err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.DeleteAssistantResponse{}, nil
}
