package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
		Use:   "recover-owner TENANT_ID",
		Short: "Give a tenant that lost its owner keys a new owner key (operator, mTLS; audited; the key is shown once)",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tenantID, err := recoverOwnerTenant(args, tenant)
			if err != nil {
				return err
			}
			var resp *authv1.RecoverOwnerResponse
			err = callAuth(cmd, certDir, addr, func(ctx context.Context, auth authv1.AuthServiceClient) (err error) {
				resp, err = auth.RecoverOwner(ctx, &authv1.RecoverOwnerRequest{TenantId: tenantID, Subject: subject})
				return err
			})
			if err != nil {
				return err
			}
			return printOwnerKey(cmd, map[string]any{
				"tenant_id": resp.GetTenantId(), "subject": resp.GetSubject(), "key_id": resp.GetKeyId(), "api_key": resp.GetApiKey(),
			})
		},
	}
	// --tenant predates the positional form (which `tenant shred` and
	// `tenant suspend` use); it stays for scripts written against it.
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (same as the TENANT_ID argument)")
	cmd.Flags().StringVar(&subject, "subject", "", "subject who becomes owner (default: the tenant's longest-standing owner)")
	operatorFlags(cmd, &certDir, &addr)
	return cmd
}

// recoverOwnerTenant picks the tenant of recover-owner from its argument
// or its --tenant flag: one of them is required, and both must agree.
func recoverOwnerTenant(args []string, flag string) (string, error) {
	var arg string
	if len(args) == 1 {
		arg = args[0]
	}
	switch {
	case arg == "" && flag == "":
		return "", fmt.Errorf("usage: rampart tenant recover-owner TENANT_ID (the tenant id is required; --tenant TENANT_ID works too)")
	case arg != "" && flag != "" && arg != flag:
		return "", fmt.Errorf("the TENANT_ID argument %q and --tenant %q differ: give the tenant once", arg, flag)
	case arg != "":
		return arg, nil
	default:
		return flag, nil
	}
}

// newBootstrapCmd creates the first tenant of a deployment and its owner
// key: the platform admin's. `rampart dev` does this itself; a compose or
// Kubernetes deployment has no key at all until the operator runs this
// (auth answers it only while no tenant exists, and only to the CLI
// certificate).
func newBootstrapCmd() *cobra.Command {
	var certDir, addr, name, owner string
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create a new deployment's first tenant and its owner key: the platform admin's (operator, mTLS; once; the key is shown once)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if owner == "" {
				return fmt.Errorf("--owner is required (the platform admin's subject, e.g. ops@example.com)")
			}
			var resp *authv1.BootstrapResponse
			err := callAuth(cmd, certDir, addr, func(ctx context.Context, auth authv1.AuthServiceClient) (err error) {
				resp, err = auth.Bootstrap(ctx, &authv1.BootstrapRequest{TenantName: name, OwnerSubject: owner})
				return err
			})
			if status.Code(err) == codes.AlreadyExists {
				return fmt.Errorf("%w (the deployment has its first tenant already; a lost owner key: rampart tenant recover-owner TENANT_ID)", err)
			}
			if err != nil {
				return err
			}
			return printOwnerKey(cmd, map[string]any{
				"tenant_id": resp.GetTenantId(), "subject": owner, "key_id": resp.GetKeyId(), "api_key": resp.GetApiKey(),
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "platform", "display name of the first tenant")
	cmd.Flags().StringVar(&owner, "owner", "", "subject of its owner, the platform admin (required)")
	operatorFlags(cmd, &certDir, &addr)
	return cmd
}

// operatorFlags are the flags of the verbs that speak mTLS gRPC to auth
// with the operator CLI certificate.
func operatorFlags(cmd *cobra.Command, certDir, addr *string) {
	cmd.Flags().StringVar(certDir, "cert-dir", defaultCertDir(), certDirHelp)
	cmd.Flags().StringVar(addr, "auth-addr", envOr("RAMPART_AUTH_ADDR", "127.0.0.1:7001"), "auth gRPC address (env RAMPART_AUTH_ADDR)")
}

// callAuth runs call against auth as the operator CLI (operatorCall).
func callAuth(cmd *cobra.Command, certDir, addr string, call func(context.Context, authv1.AuthServiceClient) error) error {
	return operatorCall(cmd, certDir, addr, "auth", func(ctx context.Context, conn *grpc.ClientConn) error {
		return call(ctx, authv1.NewAuthServiceClient(conn))
	})
}

// operatorCall is the one way the operator verbs reach a service: mTLS
// with the rampart-cli certificate from certDir to svc at addr (its
// SPIFFE ID checked), call within 30 s, the connection closed after.
func operatorCall(cmd *cobra.Command, certDir, addr, svc string, call func(context.Context, *grpc.ClientConn) error) error {
	src, err := mtls.NewSource(mtls.FilesFor(certDir, pkiops.CLIName))
	if err != nil {
		return fmt.Errorf("load the operator certificate from %s: %w", certDir, err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	conn, err := mtls.Dial(ctx, addr, src, pki.ServiceID(svc))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return call(ctx, conn)
}

// printOwnerKey prints a new owner key once, with how to hand it over.
func printOwnerKey(cmd *cobra.Command, fields map[string]any) error {
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), string(out))
	fmt.Fprintln(cmd.ErrOrStderr(), "The api_key is shown once; hand it to the owner over a secure channel.")
	return nil
}

// newTenantLimitsCmd sets a tenant's limits over REST (owners of the
// tenant or the platform admin).
func newTenantLimitsCmd(f *apiFlags) *cobra.Command {
	var rpm, tpm, budget, streams int64
	var models []string
	cmd := verb(f, "limits TENANT_ID", "Replace a tenant's limits (0 / no --model: no limit); keys only narrow them", 1,
		func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPut, "/v1/tenants/" + esc(a[0]) + "/limits", nil, map[string]any{
				"requests_per_minute": rpm, "tokens_per_minute": tpm, "monthly_token_budget": budget, "allowed_models": models,
				"max_concurrent_streams": streams,
			}, nil
		})
	cmd.Flags().Int64Var(&rpm, "rpm", 0, "requests per minute for the whole tenant")
	cmd.Flags().Int64Var(&tpm, "tpm", 0, "tokens per minute for the whole tenant")
	cmd.Flags().Int64Var(&budget, "monthly-tokens", 0, "token budget per calendar month (UTC)")
	cmd.Flags().StringSliceVar(&models, "model", nil, "allowed model (repeatable; none: every model)")
	cmd.Flags().Int64Var(&streams, "max-streams", 0, "chat streams the whole tenant may hold open at once (0: the edge's default; set by the platform admin it may exceed that default, set by the owners it only lowers it)")
	return cmd
}
