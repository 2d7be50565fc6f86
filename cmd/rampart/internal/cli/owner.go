package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/pkiops"
	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// newRecoverOwnerCmd gives a tenant an owner key again. Like `rampart dev`'s
// bootstrap it speaks mTLS gRPC to auth with the operator CLI certificate:
// the RPC has no REST route and auth admits only that identity. The new
// key is printed once.
func newRecoverOwnerCmd() *cobra.Command {
	var certDir, addr, tenant, subject string
	cmd := &cobra.Command{
		Use:   "recover-owner",
		Short: "Give a tenant that lost its owner keys a new owner key (operator, mTLS; audited; the key is shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return fmt.Errorf("--tenant is required")
			}
			src, err := mtls.NewSource(mtls.FilesFor(certDir, pkiops.CLIName))
			if err != nil {
				return fmt.Errorf("load the operator certificate from %s: %w", certDir, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			conn, err := mtls.Dial(ctx, addr, src, pki.ServiceID("auth"))
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()
			resp, err := authv1.NewAuthServiceClient(conn).RecoverOwner(ctx, &authv1.RecoverOwnerRequest{TenantId: tenant, Subject: subject})
			if err != nil {
				return err
			}
			out, err := json.MarshalIndent(map[string]any{
				"tenant_id": resp.GetTenantId(), "subject": resp.GetSubject(), "key_id": resp.GetKeyId(), "api_key": resp.GetApiKey(),
			}, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			fmt.Fprintln(cmd.ErrOrStderr(), "The api_key is shown once; hand it to the owner over a secure channel.")
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (required)")
	cmd.Flags().StringVar(&subject, "subject", "", "subject who becomes owner (default: the tenant's longest-standing owner)")
	cmd.Flags().StringVar(&certDir, "cert-dir", defaultCertDir(), "PKI directory holding rampart-cli.crt/.key and ca.crt")
	cmd.Flags().StringVar(&addr, "auth-addr", envOr("RAMPART_AUTH_ADDR", "127.0.0.1:7001"), "auth gRPC address (env RAMPART_AUTH_ADDR)")
	return cmd
}

// newTenantLimitsCmd sets a tenant's limits over REST (owners of the
// tenant or the platform admin).
func newTenantLimitsCmd(f *apiFlags) *cobra.Command {
	var rpm, tpm, budget int64
	var models []string
	cmd := verb(f, "limits TENANT_ID", "Replace a tenant's limits (0 / no --model: no limit); keys only narrow them", 1,
		func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPut, "/v1/tenants/" + esc(a[0]) + "/limits", nil, map[string]any{
				"requests_per_minute": rpm, "tokens_per_minute": tpm, "monthly_token_budget": budget, "allowed_models": models,
			}, nil
		})
	cmd.Flags().Int64Var(&rpm, "rpm", 0, "requests per minute for the whole tenant")
	cmd.Flags().Int64Var(&tpm, "tpm", 0, "tokens per minute for the whole tenant")
	cmd.Flags().Int64Var(&budget, "monthly-tokens", 0, "token budget per calendar month (UTC)")
	cmd.Flags().StringSliceVar(&models, "model", nil, "allowed model (repeatable; none: every model)")
	return cmd
}
