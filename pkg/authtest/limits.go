package authtest

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// SetTenantLimits stores the limits GetTenantLimits answers for tenant, as
// auth's tenant record would hold them (nil: the tenant is unknown, NotFound).
func (s *Server) SetTenantLimits(tenant string, l *authv1.TenantLimits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l == nil {
		delete(s.limits, tenant)
		return
	}
	s.limits[tenant] = proto.CloneOf(l)
}

// FailTenantLimits makes GetTenantLimits answer err (nil: answer again).
func (s *Server) FailTenantLimits(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitsErr = err
}

// GetTenantLimits answers the limits SetTenantLimits stored.
func (s *Server) GetTenantLimits(_ context.Context, req *authv1.GetTenantLimitsRequest) (*authv1.GetTenantLimitsResponse, error) {
	s.LimitsCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limitsErr != nil {
		return nil, s.limitsErr
	}
	l, ok := s.limits[req.GetTenantId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "tenant %s not found", req.GetTenantId())
	}
	return &authv1.GetTenantLimitsResponse{Limits: proto.CloneOf(l)}, nil
}
