package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// newShredCmd crypto-shreds a tenant in keyvault. It speaks mTLS gRPC with
// the operator CLI certificate: the RPC is not routed by the edge, and auth
// triggers the same shred on its own when it purges a deleted tenant.
func newShredCmd() *cobra.Command {
	var certDir, addr string
	cmd := &cobra.Command{
		Use:   "shred TENANT_ID",
		Short: "Crypto-shred a tenant in keyvault now (irreversible; auth does this itself after a purge)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp *keyvaultv1.ShredTenantResponse
			err := operatorCall(cmd, certDir, addr, "keyvault", func(ctx context.Context, conn *grpc.ClientConn) (err error) {
				resp, err = keyvaultv1.NewTenantAdminServiceClient(conn).ShredTenant(ctx, &keyvaultv1.ShredTenantRequest{TenantId: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			out, err := json.MarshalIndent(map[string]any{
				"tenant_id": resp.GetTenantId(), "shred_time": resp.GetShredTime().AsTime(), "secrets_erased": resp.GetSecretsErased(),
			}, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&certDir, "cert-dir", defaultCertDir(), certDirHelp)
	cmd.Flags().StringVar(&addr, "keyvault-addr", envOr("RAMPART_KEYVAULT_ADDR", "127.0.0.1:7002"), "keyvault gRPC address (env RAMPART_KEYVAULT_ADDR)")
	return cmd
}
