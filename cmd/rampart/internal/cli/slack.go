package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/devstack"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
)

// newSlackCmd groups the Slack verbs: `app` is the platform operator's
// (mTLS with the rampart-cli certificate, no API key), the rest are a
// tenant admin's (REST through the edge with an API key).
func newSlackCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "slack", Short: "Slack: the deployment's app (operator) and your tenant's workspaces"}
	cmd.AddCommand(newSlackAppCmd())
	cmd.AddCommand(slackTenantVerbs(f)...)
	return cmd
}

// operatorConn dials the slack adapter with the operator certificate.
type operatorConn struct {
	certDir, addr string
}

func (o *operatorConn) bind(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&o.certDir, "cert-dir", defaultCertDir(), certDirHelp)
	cmd.PersistentFlags().StringVar(&o.addr, "slackadapter-addr", "", "slack adapter gRPC address (env RAMPART_SLACKADAPTER_ADDR, else dev.env, else 127.0.0.1:7005)")
}

// call runs call against the slack adapter as the operator CLI
// (operatorCall).
func (o *operatorConn) call(cmd *cobra.Command, call func(context.Context, slackadapterv1.SlackAdapterServiceClient) error) error {
	addr := o.addr
	if addr == "" {
		addr = os.Getenv("RAMPART_SLACKADAPTER_ADDR")
	}
	if addr == "" {
		if env, err := devstack.LoadEnvFile(dataDir()); err == nil {
			addr = env["RAMPART_SLACKADAPTER_ADDR"]
		}
	}
	if addr == "" {
		addr = "127.0.0.1:7005"
	}
	return operatorCall(cmd, o.certDir, addr, "slackadapter", func(ctx context.Context, conn *grpc.ClientConn) error {
		return call(ctx, slackadapterv1.NewSlackAdapterServiceClient(conn))
	})
}

func newSlackAppCmd() *cobra.Command {
	var o operatorConn
	cmd := &cobra.Command{Use: "app", Short: "The deployment's Slack app (platform operator, mTLS)"}
	o.bind(cmd)
	var clientID, clientSecretFile, signingSecretFile string
	set := &cobra.Command{
		Use:   "set",
		Short: "Set the Slack app's client id, client secret and signing secret",
		Long: "Set the Slack app's credentials. Secrets are read from files (--client-secret-file, --signing-secret-file; \"-\" is stdin, " +
			"for one of them) or from SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET, never from flags (they show up in ps).",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if clientSecretFile == "-" && signingSecretFile == "-" {
				return errors.New("only one of --client-secret-file and --signing-secret-file can be \"-\" (stdin)")
			}
			clientSecret, err := readSecretInput(cmd, clientSecretFile, "SLACK_CLIENT_SECRET", "--client-secret-file")
			if err != nil {
				return err
			}
			signingSecret, err := readSecretInput(cmd, signingSecretFile, "SLACK_SIGNING_SECRET", "--signing-secret-file")
			if err != nil {
				return err
			}
			var resp *slackadapterv1.ConfigureAppResponse
			err = o.call(cmd, func(ctx context.Context, c slackadapterv1.SlackAdapterServiceClient) (err error) {
				resp, err = c.ConfigureApp(ctx, &slackadapterv1.ConfigureAppRequest{ClientId: clientID, ClientSecret: clientSecret, SigningSecret: signingSecret})
				return err
			})
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"client_id": resp.GetClientId(), "updated_at": time.Unix(resp.GetUpdatedAt(), 0).UTC()})
		},
	}
	set.Flags().StringVar(&clientID, "client-id", "", "the app's OAuth client id (Basic Information → App Credentials)")
	set.Flags().StringVar(&clientSecretFile, "client-secret-file", "", "file holding the client secret (\"-\": stdin); default env SLACK_CLIENT_SECRET")
	set.Flags().StringVar(&signingSecretFile, "signing-secret-file", "", "file holding the signing secret (\"-\": stdin); default env SLACK_SIGNING_SECRET")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the configured app (client id and update time, never a secret)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp *slackadapterv1.GetAppResponse
			err := o.call(cmd, func(ctx context.Context, c slackadapterv1.SlackAdapterServiceClient) (err error) {
				resp, err = c.GetApp(ctx, &slackadapterv1.GetAppRequest{})
				return err
			})
			if err != nil {
				return err
			}
			return printJSON(cmd, map[string]any{"client_id": resp.GetClientId(), "updated_at": time.Unix(resp.GetUpdatedAt(), 0).UTC()})
		},
	}
	cmd.AddCommand(set, show)
	return cmd
}

// readSecretInput reads a secret from path ("-": stdin) or else from the
// environment variable env; one trailing newline is dropped.
func readSecretInput(cmd *cobra.Command, path, env, flag string) (string, error) {
	var data []byte
	var err error
	switch path {
	case "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s or %s is required", flag, env)
		}
		return v, nil
	case "-":
		data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4<<10))
	default:
		data, err = os.ReadFile(path) //nolint:gosec // the operator names the file
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
}

func printJSON(cmd *cobra.Command, v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), string(out))
	return nil
}

// slackTenantVerbs are the tenant admin's Slack verbs over REST.
func slackTenantVerbs(f *apiFlags) []*cobra.Command {
	var channel, assistant string
	var collections []string
	bind := verb(f, "bind TEAM_ID", "Make a workspace (or --channel) answer from an assistant or collections", 1,
		func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			body := map[string]any{"team_id": a[0], "channel_id": channel}
			if assistant != "" {
				body["assistant"] = assistant
			}
			if len(collections) > 0 {
				body["collections"] = collections
			}
			return http.MethodPut, "/v1/slack/bindings", nil, body, nil
		})
	bind.Flags().StringVar(&channel, "channel", "", "Slack channel id (default: the whole workspace)")
	// The same -a/--assistant and -c/--collection as chat and assistant
	// create; --collections (the body's name, older docs) is the same flag.
	bind.Flags().StringVarP(&assistant, "assistant", "a", "", "tenant assistant (model name) to answer with")
	bind.Flags().StringSliceVarP(&collections, "collection", "c", nil, "collection(s) to answer from (repeatable, or handbook,faq)")
	bind.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "collections" {
			name = "collection"
		}
		return pflag.NormalizedName(name)
	})
	bind.MarkFlagsMutuallyExclusive("assistant", "collection")
	bind.MarkFlagsOneRequired("assistant", "collection")
	var unbindChannel string
	unbind := verb(f, "unbind TEAM_ID", "Remove the binding of a workspace (or --channel)", 1,
		func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			q := url.Values{}
			if unbindChannel != "" {
				q.Set("channel_id", unbindChannel)
			}
			return http.MethodDelete, "/v1/slack/bindings/" + esc(a[0]), q, nil, nil
		})
	unbind.Flags().StringVar(&unbindChannel, "channel", "", "Slack channel id (default: the workspace default)")
	var team string
	list := verb(f, "bindings", "List your tenant's Slack bindings", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		q := url.Values{}
		if team != "" {
			q.Set("team_id", team)
		}
		return http.MethodGet, "/v1/slack/bindings", q, nil, nil
	})
	list.Flags().StringVar(&team, "team", "", "only this workspace")
	return []*cobra.Command{bind, unbind, list,
		newInstallURLCmd(f), newSlackPolicyCmd(f),
		verb(f, "installations", "List your tenant's Slack workspaces", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/slack/installations", nil, nil, nil
		}),
	}
}

// newSlackPolicyCmd sets, or with --show prints, an installation's policy
// (ADR 0097): what a Slack workspace admin may bind with `/rampart kb use`
// and whether users of other organisations are answered. The REST call
// replaces the whole policy, so a set needs at least one flag (--clear for
// the empty policy): `policy T1` alone must not silently empty the list.
func newSlackPolicyCmd(f *apiFlags) *cobra.Command {
	var assistants, collections []string
	var external, empty, show bool
	cmd := &cobra.Command{
		Use:   "policy TEAM_ID",
		Short: "Set (or --show) what Slack workspace admins may bind with /rampart kb use and whether other organisations' users are answered",
		Long: "Set a workspace's policy (tenant admin): the collections (-c/--collection) and assistants (-a/--assistant) that " +
			"a Slack workspace admin may bind with `/rampart kb use` (nothing until set), and --allow-external-users to answer " +
			"users of other organisations in Slack Connect channels (not answered unless set). Each call replaces the whole " +
			"policy: name everything it should allow; --clear allows nothing. Bindings already made stay (rampart slack bindings). " +
			"--show prints the current policy.",
		Example: "  rampart slack policy T0123ABCD --collection handbook,faq --assistant kb-support\n" +
			"  rampart slack policy T0123ABCD --show",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			set := cmd.Flags().Changed("assistant") || cmd.Flags().Changed("collection") || cmd.Flags().Changed("allow-external-users")
			switch {
			case show && (set || empty):
				return errors.New("--show only prints the policy: drop --assistant, --collection, --allow-external-users and --clear")
			case show:
				return showSlackPolicy(cmd, f, a[0])
			case empty && set:
				return errors.New("--clear sets the empty policy: it takes no --assistant, --collection or --allow-external-users")
			case !empty && !set:
				return errors.New("nothing to set: name what /rampart kb use may bind (--collection, --assistant) and whether " +
					"--allow-external-users; each call replaces the whole policy (--clear allows nothing, --show prints it)")
			}
			body := map[string]any{
				"bindable_assistants":  nonNilStrings(assistants),
				"bindable_collections": nonNilStrings(collections),
				"allow_external_users": external,
			}
			return f.call(cmd, http.MethodPut, "/v1/slack/installations/"+esc(a[0])+"/policy", nil, body)
		},
	}
	// The same -a/--assistant and -c/--collection as bind; the plurals (the
	// body's names) are the same flags.
	cmd.Flags().StringSliceVarP(&assistants, "assistant", "a", nil, "assistant(s) (model names) kb use may bind (repeatable, or a,b)")
	cmd.Flags().StringSliceVarP(&collections, "collection", "c", nil, "collection(s) kb use may bind (repeatable, or handbook,faq)")
	cmd.Flags().BoolVar(&external, "allow-external-users", false, "answer users of other organisations in Slack Connect channels")
	cmd.Flags().BoolVar(&empty, "clear", false, "set the empty policy: kb use binds nothing, external users are not answered")
	cmd.Flags().BoolVar(&show, "show", false, "print the current policy instead of setting it")
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "collections":
			name = "collection"
		case "assistants":
			name = "assistant"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// nonNilStrings sends an empty list as [] rather than null.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// showSlackPolicy prints team's policy as GET /v1/slack/installations
// reports it; an installation without one prints the empty policy, which
// is what the adapter enforces then.
func showSlackPolicy(cmd *cobra.Command, f *apiFlags, team string) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	out, err := c.Do(cmd.Context(), http.MethodGet, "/v1/slack/installations", nil, nil)
	if err != nil {
		return err
	}
	var resp struct {
		Installations []struct {
			TeamID string          `json:"team_id"`
			Policy json.RawMessage `json:"policy"`
		} `json:"installations"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return fmt.Errorf("installations answer: %w", err)
	}
	for _, inst := range resp.Installations {
		if inst.TeamID != team {
			continue
		}
		if len(inst.Policy) > 0 && string(inst.Policy) != "null" {
			return printJSON(cmd, inst.Policy)
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "no policy set: /rampart kb use binds nothing, users of other organisations are not answered")
		return printJSON(cmd, map[string]any{"team_id": team, "bindable_assistants": []string{},
			"bindable_collections": []string{}, "allow_external_users": false})
	}
	return fmt.Errorf("slack workspace %q is not installed for your tenant (`rampart slack installations` lists the ones that are)", team)
}

// newInstallURLCmd prints the "Add to Slack" URL and, when its redirect is
// not HTTPS (the adapter's PUBLIC_URL left at its dev default), says that
// Slack will refuse it, before the admin finds out on Slack's page.
func newInstallURLCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "install-url",
		Short: "Print the Slack install link for your tenant (tenant admin; open it in the browser that completes the install)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.Do(cmd.Context(), http.MethodGet, "/v1/slack/install", nil, nil)
			if err != nil {
				return err
			}
			var resp struct {
				URL       string          `json:"url"`
				ExpiresAt json.RawMessage `json:"expires_at"`
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				return fmt.Errorf("install URL answer: %w", err)
			}
			if err := printJSON(cmd, json.RawMessage(out)); err != nil {
				return err
			}
			// stdout stays the REST answer, whose expires_at is Unix
			// seconds as a string (ADR 0070); people get the time too.
			if at, ok := unixSeconds(resp.ExpiresAt); ok {
				fmt.Fprintf(cmd.ErrOrStderr(), "the link is valid until %s\n", at.Format(time.RFC3339))
			}
			if redirect := redirectOf(resp.URL); redirect != "" && !strings.HasPrefix(redirect, "https://") {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: Slack sends the admin back to %s, but Slack accepts only HTTPS redirect URLs "+
					"matching the app's: start the stack with RAMPART_SLACKADAPTER_PUBLIC_URL=https://<your public host> "+
					"(docs/slack-setup.md, step 1)\n", redirect)
			}
			return nil
		},
	}
}

// unixSeconds reads a REST int64 field of Unix seconds, written as a
// string (ADR 0070) or, from older servers, a number, as a UTC time; false
// when absent, 0 (no expiry) or not a number.
func unixSeconds(raw json.RawMessage) (time.Time, bool) {
	secs, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0).UTC(), true
}

// redirectOf is the redirect_uri of an authorize URL or, for Rampart's
// install start page (ADR 0069 §3), the callback on the same origin; ""
// if it has neither.
func redirectOf(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	if r := u.Query().Get("redirect_uri"); r != "" {
		return r
	}
	if !strings.HasSuffix(u.Path, "/slack/oauth/start") {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "start") + "callback"}).String()
}
