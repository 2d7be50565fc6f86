package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// Run executes the command line args.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "rampart",
		Short:         "Operate a Rampart deployment: PKI, the dev stack, tenants, keys, secrets",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var api apiFlags
	api.bind(root)
	root.AddCommand(newPKICmd(), newDevCmd(), newWhoAmICmd(&api), newTenantCmd(&api), newKeyCmd(&api),
		newMemberCmd(&api), newAuditCmd(&api), newUsageCmd(&api), newSecretCmd(&api), newAPICmd(&api), newEvalCmd(&api))
	root.AddCommand(newSlackCmd(&api))
	root.AddCommand(newCollectionCmd(&api), newDocCmd(&api), newSearchCmd(&api), newChatCmd(&api), newAssistantCmd(&api))
	return root
}
