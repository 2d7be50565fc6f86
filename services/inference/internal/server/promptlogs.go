package server

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// promptLogReader returns the caller if its key holds usage:read AND its
// subject is an owner or admin of the tenant: prompt logs hold conversation
// content, so usage:read alone is not enough, and the role never replaces
// the scope (an owner's chat:write key cannot read them).
func promptLogReader(ctx context.Context) (*inference.Caller, error) {
	c, err := caller(ctx, ScopeUsage)
	if err != nil {
		return nil, err
	}
	p, _ := principal.FromContext(ctx)
	if !slices.Contains(p.GetRoles(), "owner") && !slices.Contains(p.GetRoles(), "admin") {
		return nil, status.Error(codes.PermissionDenied, "reading prompt logs needs the usage:read scope and the owner or admin role")
	}
	return c, nil
}

func promptLogMsg(e promptlog.Entry) *inferencev1.PromptLog {
	return &inferencev1.PromptLog{RequestId: e.RequestID, KeyId: e.Key, Model: e.Model, CreatedAt: e.At.UTC().Format(time.RFC3339Nano),
		Request: string(e.Request), Response: string(e.Response), Endpoint: e.Endpoint}
}

// ListPromptLogs implements inferencev1.InferenceServiceServer.
func (s *Server) ListPromptLogs(ctx context.Context, req *inferencev1.ListPromptLogsRequest) (*inferencev1.ListPromptLogsResponse, error) {
	c, err := promptLogReader(ctx)
	if err != nil {
		return nil, err
	}
	page, err := s.svc.PromptLogs(ctx, c, req.GetFrom(), req.GetTo(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	out := &inferencev1.ListPromptLogsResponse{NextPageToken: page.NextPageToken, Logs: make([]*inferencev1.PromptLog, len(page.Entries))}
	for i, e := range page.Entries {
		out.Logs[i] = promptLogMsg(e)
	}
	return out, nil
}

// GetPromptLog implements inferencev1.InferenceServiceServer.
func (s *Server) GetPromptLog(ctx context.Context, req *inferencev1.GetPromptLogRequest) (*inferencev1.GetPromptLogResponse, error) {
	c, err := promptLogReader(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.svc.PromptLog(ctx, c, req.GetRequestId())
	if err != nil {
		return nil, grpcerr.ToStatus(ctx, s.log, err)
	}
	return &inferencev1.GetPromptLogResponse{Log: promptLogMsg(e)}, nil
}
