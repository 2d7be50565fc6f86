package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Run executes the command line args.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	if err := unknownSubcommand(root, args); err != nil {
		return err
	}
	root.SetArgs(args)
	return plainStatus(root.ExecuteContext(ctx))
}

// plainStatus rewrites the "rpc error: code = X desc = M" text of a gRPC
// status (the verbs that speak mTLS to a service: tenant bootstrap,
// recover-owner, slack app) as "M", or "X: M" when M does not already say
// what X says, so those errors read like the REST verbs' ones.
func plainStatus(err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if err == nil || !errors.As(err, &se) {
		return err
	}
	st := se.GRPCStatus()
	raw := st.Err().Error()
	if !strings.Contains(err.Error(), raw) {
		return err
	}
	msg := st.Message()
	if !strings.HasPrefix(msg, codeText(st.Code())) {
		msg = st.Code().String() + ": " + msg
	}
	return errors.New(strings.Replace(err.Error(), raw, msg, 1))
}

// codeText is a code as pkg/grpcerr's messages spell it ("already exists").
func codeText(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rampart",
		Short: "Operate a Rampart deployment: PKI, the dev stack, tenants, keys, secrets, documents, chat, Slack",
		Long: `Operate a Rampart deployment: PKI, the dev stack, tenants, keys, secrets, documents, chat, Slack.

Start the stack with ` + "`rampart dev`" + ` (or ` + "`make run`" + `): every other verb then finds the
edge and the admin key in its dev.env; elsewhere set RAMPART_URL and RAMPART_API_KEY.`,
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

// unknownSubcommand gives a group command below the root (key, secret,
// slack app, …) the root's handling of a mistyped verb: cobra answers a
// group that has no Run by printing its help and exiting 0, so `rampart
// key crete` looked like success to a script and never said what was
// wrong. nil when args name no such group with a stray word after it.
func unknownSubcommand(root *cobra.Command, args []string) error {
	// An error of Find or of the flags is cobra's to report, as is plain help.
	cmd, rest, findErr := root.Find(args)
	if findErr != nil || cmd == root || !cmd.HasSubCommands() || cmd.Runnable() {
		return nil //nolint:nilerr // Execute reports it
	}
	if flagErr := cmd.ParseFlags(rest); flagErr != nil || cmd.Flags().NArg() == 0 {
		return nil //nolint:nilerr // Execute reports it
	}
	word := cmd.Flags().Arg(0)
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // what cobra sets for the root
	}
	msg := fmt.Sprintf("unknown command %q for %q", word, cmd.CommandPath())
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s\n\nRun '%s --help' for its commands", msg, cmd.CommandPath())
}

// minArgs is cobra.MinimumNArgs with the same kind of error as exactArgs.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
		return fmt.Errorf("usage: %s (at least %d argument(s), got %d; see %s --help)", usage, n, len(args), cmd.CommandPath())
	}
}

// maxArgs is cobra.MaximumNArgs with the same kind of error as exactArgs.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
		return fmt.Errorf("usage: %s (at most %d argument(s), got %d; see %s --help)", usage, n, len(args), cmd.CommandPath())
	}
}

// exactArgs is cobra.ExactArgs with an error a newcomer can act on: the
// command's usage line and, for a stray argument, that values go in flags
// (`rampart tenant create acme` instead of `--name acme`).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
		if n == 0 {
			// main prefixes errors with "rampart: ".
			name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			return fmt.Errorf("%s takes no arguments, got %q: values go in flags (see %s --help)", name, args, cmd.CommandPath())
		}
		return fmt.Errorf("usage: %s (%d argument(s), got %d; see %s --help)", usage, n, len(args), cmd.CommandPath())
	}
}
