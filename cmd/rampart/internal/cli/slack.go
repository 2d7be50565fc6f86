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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/devstack"
	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
)

// newSlackCmd groups the Slack verbs: `app` is the platform operator's
// (mTLS with the rampart-cli certificate, no API key), the rest are a
// tenant admin's (REST through the edge with an API key).
func newSlackCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "slack", Short: "Slack: the deployment's app (operator) and your tenant's workspaces",
		Long: "The Slack bot, in the order a deployment sets it up (docs/slack-setup.md walks through it):\n" +
			"  1. rampart slack app set        the platform operator gives Rampart the Slack app's credentials (mTLS, once per deployment)\n" +
			"  2. rampart slack install-url    a tenant admin installs the app into a workspace (open the link in a browser)\n" +
			"  3. rampart slack installations  the workspace's team id (T…, or E… for an org-wide install): the TEAM_ID of the verbs below\n" +
			"  4. rampart slack bind TEAM_ID   a channel or the whole workspace answers from collections or an assistant, or\n" +
			"     rampart slack policy TEAM_ID --add-collection NAME   lets the workspace's Slack admins bind NAME themselves (/rampart kb use NAME)\n" +
			"Tenant verbs use RAMPART_URL and an owner or admin key with scope admin (RAMPART_ADMIN_KEY, or --key)."}
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
	bind := verb(f, "bind TEAM_ID", "Make a workspace (or --channel) answer from an assistant or collections (TEAM_ID: rampart slack installations)", 1,
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
	bind.Flags().StringVar(&channel, "channel", "", "Slack channel id, C… (in Slack: the channel's name → Copy link, the last part; default: the whole workspace)")
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

// policyEdit is what one `rampart slack policy` call changes: whole lists
// (-c/-a), single entries (--add-…/--remove-…), the external-users flag.
type policyEdit struct {
	assistants, collections           []string
	addAssistants, removeAssistants   []string
	addCollections, removeCollections []string
	external, empty, show             bool
	// etag, when set (--etag), is the policy the change must apply to:
	// sent with the PUT of --clear and every PATCH, a 409 is the answer
	// rather than a retry (ADR 0112).
	etag string
}

// newSlackPolicyCmd changes, or prints, an installation's policy (ADR
// 0097, 0103): what a Slack workspace admin may bind with `/rampart kb
// use` and whether users of other organisations are answered. A change is
// a PATCH of the fields its flags name (the others stay); single entries
// are a read-modify-write with the policy's etag, retried when another
// change came between. Without a flag it prints the policy.
func newSlackPolicyCmd(f *apiFlags) *cobra.Command {
	var e policyEdit
	cmd := &cobra.Command{
		Use:   "policy TEAM_ID",
		Short: "Show or change what Slack workspace admins may bind with /rampart kb use, and whether other organisations' users are answered",
		Long: "A Slack workspace admin binds a channel to a collection or assistant with `/rampart kb use NAME`, but only to names " +
			"a Rampart tenant admin put on the workspace's list (nothing until then). This command shows and changes that list " +
			"(tenant admin key). Each flag changes only what it names; the rest of the policy stays:\n" +
			"  --add-collection / --remove-collection, --add-assistant / --remove-assistant: one entry (repeatable, or a,b)\n" +
			"  -c/--collection, -a/--assistant: the whole list\n" +
			"  --allow-external-users (=false to stop): answer users of other organisations in Slack Connect channels\n" +
			"  --clear: the empty policy\n" +
			"  --etag ETAG: apply the change only if the policy is still the one printed with that etag (else 409, nothing changed)\n" +
			"Without a flag (or with --show) it prints the policy. Bindings already made stay (rampart slack bindings). " +
			"TEAM_ID is the workspace's Slack team id (T…, or E… for an org-wide install): rampart slack installations lists them.",
		Example: "  rampart slack policy T0123ABCD --add-collection handbook\n" +
			"  rampart slack policy T0123ABCD --remove-collection drafts --add-assistant kb-support\n" +
			"  rampart slack policy T0123ABCD --collection handbook,faq      # the whole list\n" +
			"  rampart slack policy T0123ABCD --clear --etag 3q2-7wAbC1dE5fGh   # only if unchanged since printed\n" +
			"  rampart slack policy T0123ABCD",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runSlackPolicy(cmd, f, a[0], &e)
		},
	}
	fl := cmd.Flags()
	// The same -a/--assistant and -c/--collection as bind; the plurals (the
	// body's names) are the same flags.
	fl.StringSliceVarP(&e.assistants, "assistant", "a", nil, "the whole list of assistants (model names) kb use may bind (repeatable, or a,b)")
	fl.StringSliceVarP(&e.collections, "collection", "c", nil, "the whole list of collections kb use may bind (repeatable, or handbook,faq)")
	fl.StringSliceVar(&e.addCollections, "add-collection", nil, "add collection(s) to the list")
	fl.StringSliceVar(&e.removeCollections, "remove-collection", nil, "remove collection(s) from the list")
	fl.StringSliceVar(&e.addAssistants, "add-assistant", nil, "add assistant(s) to the list")
	fl.StringSliceVar(&e.removeAssistants, "remove-assistant", nil, "remove assistant(s) from the list")
	fl.BoolVar(&e.external, "allow-external-users", false, "answer users of other organisations in Slack Connect channels (=false: do not)")
	fl.BoolVar(&e.empty, "clear", false, "set the empty policy: kb use binds nothing, external users are not answered")
	fl.BoolVar(&e.show, "show", false, "print the policy (the default without a flag)")
	fl.StringVar(&e.etag, "etag", "", "the policy's etag as printed: change it only if nobody has since (409 aborted otherwise)")
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "collections":
			name = "collection"
		case "assistants":
			name = "assistant"
		}
		return pflag.NormalizedName(name)
	})
	cmd.MarkFlagsMutuallyExclusive("collection", "add-collection")
	cmd.MarkFlagsMutuallyExclusive("collection", "remove-collection")
	cmd.MarkFlagsMutuallyExclusive("assistant", "add-assistant")
	cmd.MarkFlagsMutuallyExclusive("assistant", "remove-assistant")
	return cmd
}

// policyChangeFlags are the flags that change a policy.
var policyChangeFlags = []string{"assistant", "collection", "add-assistant", "remove-assistant",
	"add-collection", "remove-collection", "allow-external-users"}

func runSlackPolicy(cmd *cobra.Command, f *apiFlags, team string, e *policyEdit) error {
	var changed []string
	for _, n := range policyChangeFlags {
		if cmd.Flags().Changed(n) {
			changed = append(changed, "--"+n)
		}
	}
	switch {
	case e.show && (len(changed) > 0 || e.empty || e.etag != ""):
		if e.empty {
			changed = append(changed, "--clear")
		}
		if e.etag != "" {
			changed = append(changed, "--etag")
		}
		return errors.New("--show only prints the policy: drop " + strings.Join(changed, ", "))
	case e.empty && len(changed) > 0:
		return errors.New("--clear sets the empty policy: it takes no " + strings.Join(changed, ", "))
	case e.empty:
		body := map[string]any{"bindable_assistants": []string{}, "bindable_collections": []string{}, "allow_external_users": false}
		if e.etag != "" {
			body["etag"] = e.etag
		}
		return f.call(cmd, http.MethodPut, "/v1/slack/installations/"+esc(team)+"/policy", nil, body)
	case len(changed) == 0 && e.etag != "":
		return errors.New("--etag guards a change: name one (--clear, --collection, --add-collection, …)")
	case len(changed) == 0:
		return showSlackPolicy(cmd, f, team)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	// A read-modify-write when entries are added or removed: the etag makes
	// the edge refuse it (409 aborted) if the policy changed in between,
	// and then it starts again from the new policy. With --etag the 409
	// is the answer: the change was meant for the policy that etag names.
	const tries = 5
	for try := 1; ; try++ {
		body, mask, err := e.patch(cmd, f, team)
		if err != nil {
			return err
		}
		q := url.Values{"update_mask": {strings.Join(mask, ",")}}
		out, err := c.Do(cmd.Context(), http.MethodPatch, "/v1/slack/installations/"+esc(team)+"/policy", q, body)
		var apiErr *restclient.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict && apiErr.Code == "aborted" && try < tries && e.etag == "" {
			continue
		}
		if err != nil {
			return err
		}
		var resp struct {
			Policy json.RawMessage `json:"policy"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.Policy) == 0 {
			return printJSON(cmd, json.RawMessage(out))
		}
		return printJSON(cmd, resp.Policy)
	}
}

// patch is the PATCH body and update mask of e: whole lists and the flag
// as given, single entries applied to the policy as it is now (read with
// its etag, which goes in the body; --etag's instead when given).
func (e *policyEdit) patch(cmd *cobra.Command, f *apiFlags, team string) (map[string]any, []string, error) {
	body, mask := map[string]any{}, []string{}
	fl := cmd.Flags()
	var cur slackPolicy
	if len(e.addAssistants)+len(e.removeAssistants)+len(e.addCollections)+len(e.removeCollections) > 0 {
		var err error
		if cur, err = fetchSlackPolicy(cmd, f, team); err != nil {
			return nil, nil, err
		}
		body["etag"] = cur.Etag
	}
	if e.etag != "" {
		body["etag"] = e.etag
	}
	for _, l := range []struct {
		field, flag string
		whole       []string
		current     []string
		add, remove []string
	}{
		{"bindable_assistants", "assistant", e.assistants, cur.BindableAssistants, e.addAssistants, e.removeAssistants},
		{"bindable_collections", "collection", e.collections, cur.BindableCollections, e.addCollections, e.removeCollections},
	} {
		switch {
		case fl.Changed(l.flag):
			body[l.field] = nonNilStrings(l.whole)
		case len(l.add)+len(l.remove) > 0:
			body[l.field] = editList(cmd, l.current, l.add, l.remove)
		default:
			continue
		}
		mask = append(mask, l.field)
	}
	if fl.Changed("allow-external-users") {
		body["allow_external_users"], mask = e.external, append(mask, "allow_external_users")
	}
	return body, mask, nil
}

// editList is list with add appended (unless there) and remove taken
// out; an entry that was already there, or not there, is said on stderr.
func editList(cmd *cobra.Command, list, add, remove []string) []string {
	out := nonNilStrings(slices.Clone(list))
	for _, n := range add {
		if slices.Contains(out, n) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s is already on the list\n", n)
			continue
		}
		out = append(out, n)
	}
	for _, n := range remove {
		i := slices.Index(out, n)
		if i < 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s was not on the list\n", n)
			continue
		}
		out = slices.Delete(out, i, i+1)
	}
	return out
}

// nonNilStrings sends an empty list as [] rather than null.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// slackPolicy is an installation's policy as REST shows it.
type slackPolicy struct {
	TeamID              string   `json:"team_id"`
	BindableAssistants  []string `json:"bindable_assistants"`
	BindableCollections []string `json:"bindable_collections"`
	AllowExternalUsers  bool     `json:"allow_external_users"`
	Etag                string   `json:"etag"`
}

// installedPolicy reads team's policy from GET /v1/slack/installations:
// raw as REST answered it (nil for an installation without one, from an
// adapter before ADR 0097's policies were listed), or an error when team
// is not an installation of the caller's tenant.
func installedPolicy(cmd *cobra.Command, f *apiFlags, team string) (json.RawMessage, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	out, err := c.Do(cmd.Context(), http.MethodGet, "/v1/slack/installations", nil, nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Installations []struct {
			TeamID string          `json:"team_id"`
			Policy json.RawMessage `json:"policy"`
		} `json:"installations"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("installations answer: %w", err)
	}
	for _, inst := range resp.Installations {
		if inst.TeamID != team {
			continue
		}
		if len(inst.Policy) == 0 || string(inst.Policy) == "null" {
			return nil, nil
		}
		return inst.Policy, nil
	}
	return nil, fmt.Errorf("slack workspace %q is not installed for your tenant (`rampart slack installations` lists the ones that are)", team)
}

// fetchSlackPolicy is team's policy with its etag.
func fetchSlackPolicy(cmd *cobra.Command, f *apiFlags, team string) (slackPolicy, error) {
	raw, err := installedPolicy(cmd, f, team)
	if err != nil {
		return slackPolicy{}, err
	}
	var p slackPolicy
	if raw != nil {
		if err := json.Unmarshal(raw, &p); err != nil {
			return slackPolicy{}, fmt.Errorf("installations answer: %w", err)
		}
	}
	if p.Etag == "" {
		return slackPolicy{}, errors.New("the server does not support adding or removing single entries (no policy etag): " +
			"name the whole list with --collection/--assistant")
	}
	return p, nil
}

// showSlackPolicy prints team's policy as GET /v1/slack/installations
// reports it; an installation without one prints the empty policy, which
// is what the adapter enforces then.
func showSlackPolicy(cmd *cobra.Command, f *apiFlags, team string) error {
	raw, err := installedPolicy(cmd, f, team)
	if err != nil {
		return err
	}
	if raw != nil {
		return printJSON(cmd, raw)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "no policy set: /rampart kb use binds nothing, users of other organisations are not answered")
	return printJSON(cmd, map[string]any{"team_id": team, "bindable_assistants": []string{},
		"bindable_collections": []string{}, "allow_external_users": false})
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
