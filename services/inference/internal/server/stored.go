package server

import (
	"context"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// GetResponse implements inferencev1.InferenceServiceServer: a stored
// Responses API response of the caller's tenant (the chat:write scope, as
// for creating one).
func (s *Server) GetResponse(ctx context.Context, req *inferencev1.GetResponseRequest) (*inferencev1.GetResponseResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	b, err := s.svc.StoredResponse(ctx, c, req.GetId())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.GetResponseResponse{Body: b}, nil
}

// DeleteResponse implements inferencev1.InferenceServiceServer.
func (s *Server) DeleteResponse(ctx context.Context, req *inferencev1.DeleteResponseRequest) (*inferencev1.DeleteResponseResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	b, err := s.svc.DeleteStoredResponse(ctx, c, req.GetId())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.DeleteResponseResponse{Body: b}, nil
}

// ListResponseInputItems implements inferencev1.InferenceServiceServer.
func (s *Server) ListResponseInputItems(ctx context.Context, req *inferencev1.ListResponseInputItemsRequest) (*inferencev1.ListResponseInputItemsResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	b, err := s.svc.ResponseInputItems(ctx, c, req.GetId(), req.GetAfter(), int(req.GetLimit()), req.GetOrder())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.ListResponseInputItemsResponse{Body: b}, nil
}

// CancelResponse implements inferencev1.InferenceServiceServer: no
// background responses run, so it answers NotFound or InvalidArgument
// (inference.Service.CancelStoredResponse).
func (s *Server) CancelResponse(ctx context.Context, req *inferencev1.CancelResponseRequest) (*inferencev1.CancelResponseResponse, error) {
	c, err := caller(ctx, ScopeChat)
	if err != nil {
		return nil, err
	}
	return nil, grpcerr.ToStatus(ctx, s.log, s.svc.CancelStoredResponse(ctx, c, req.GetId()))
}
