package app

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// authLimits reads a tenant's stored limits with auth's principal-less
// GetTenantLimits (inference's identity only, ADR 0106 §2); nil without a
// connection to auth.
func authLimits(conn grpc.ClientConnInterface) inference.AuthLimitsFunc {
	if conn == nil {
		return nil
	}
	client := authv1.NewAuthServiceClient(conn)
	return func(ctx context.Context, tenant string) (inference.TenantLimits, error) {
		resp, err := client.GetTenantLimits(ctx, &authv1.GetTenantLimitsRequest{TenantId: tenant})
		if status.Code(err) == codes.NotFound {
			return inference.TenantLimits{}, fmt.Errorf("auth GetTenantLimits: %w", grpcerr.ErrNotFound)
		}
		if err != nil {
			return inference.TenantLimits{}, fmt.Errorf("auth GetTenantLimits: %w", err)
		}
		l := resp.GetLimits()
		return inference.TenantLimits{Limits: quota.Limits{TenantTPM: l.GetTokensPerMinute(), TenantBudget: l.GetMonthlyTokenBudget()},
			Models: l.GetAllowedModels()}, nil
	}
}
