package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/devstack"
	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
	"github.com/rampart-platform/rampart/pkg/permissions"
)

// apiFlags are shared by every verb that talks to the edge.
type apiFlags struct {
	url string
	key string
}

func (f *apiFlags) bind(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.url, "url", "", "edge URL (env RAMPART_URL, else dev.env)")
	cmd.PersistentFlags().StringVar(&f.key, "key", "", "API key (env RAMPART_API_KEY or RAMPART_ADMIN_KEY, else dev.env); prefer the env var: flags show up in ps")
}

func (f *apiFlags) client() (*restclient.Client, error) {
	base, key := f.url, f.key
	if base == "" {
		base = os.Getenv("RAMPART_URL")
	}
	if key == "" {
		key = os.Getenv("RAMPART_API_KEY")
	}
	if key == "" {
		key = os.Getenv("RAMPART_ADMIN_KEY")
	}
	if base == "" || key == "" {
		env, err := devstack.LoadEnvFile(dataDir())
		if err != nil {
			// Name the file looked for: a newcomer who runs the CLI outside
			// the checkout that ran `make run` otherwise only reads "run
			// `rampart dev`", with the stack already up.
			return nil, noConfigError(base, key, filepath.Join(dataDir(), "dev.env"))
		}
		if base == "" {
			base = env["RAMPART_URL"]
		}
		if key == "" {
			key = env["RAMPART_ADMIN_KEY"]
		}
	}
	return restclient.New(base, key)
}

// noConfigError says what is missing (the edge URL, the API key or both)
// and where the CLI looked for the dev stack's dev.env.
func noConfigError(base, key, envPath string) error {
	what := "no Rampart URL and no API key: set RAMPART_URL and RAMPART_API_KEY (or pass --url and --key)"
	switch {
	case base != "":
		what = "no API key: set RAMPART_API_KEY or RAMPART_ADMIN_KEY"
	case key != "":
		what = "no Rampart URL: set RAMPART_URL or pass --url"
	}
	return fmt.Errorf("%s; for the dev stack, run from the checkout that ran `make run` (no %s here), "+
		"load its environment (set -a; . .rampart/dev.env; set +a) or set RAMPART_DATA_DIR", what, envPath)
}

// call performs one request and pretty-prints the JSON answer.
func (f *apiFlags) call(cmd *cobra.Command, method, path string, query url.Values, body any) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	out, err := c.Do(cmd.Context(), method, path, query, body)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
	return nil
}

// verb builds a leaf command that maps positional args and flags to a request.
func verb(f *apiFlags, use, short string, nargs int, build func(cmd *cobra.Command, args []string) (method, path string, query url.Values, body any, err error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			method, path, q, body, err := build(cmd, args)
			if err != nil {
				return err
			}
			return f.call(cmd, method, path, q, body)
		},
	}
}

func esc(s string) string { return url.PathEscape(s) }

// enumName turns a friendly value ("admin") of flag into the proto enum
// name the REST API expects ("ROLE_ADMIN"). A value outside allowed (the
// friendly names; the enum's own names are accepted too) is refused here,
// naming the flag and the choices, rather than by the API's JSON decoder
// ("invalid value for enum field").
func enumName(flag, prefix, v string, allowed ...string) (string, error) {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
	name := strings.TrimPrefix(norm(v), prefix)
	for _, a := range allowed {
		if norm(a) == name {
			return prefix + name, nil
		}
	}
	return "", fmt.Errorf("--%s %q: want %s", flag, v, orList(allowed))
}

// orList is "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func newWhoAmICmd(f *apiFlags) *cobra.Command {
	return verb(f, "whoami", "Show the tenant, key and scopes of the API key in use", 0,
		func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/whoami", nil, nil, nil
		})
}

func newTenantCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants (platform admin)"}
	var name, owner string
	create := verb(f, "create", "Create a tenant (--owner: with its first owner and owner key, shown once)", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		body := map[string]any{"name": name}
		if owner != "" {
			body["owner_subject"] = owner
		}
		return http.MethodPost, "/v1/tenants", nil, body, nil
	})
	create.Flags().StringVar(&name, "name", "", "display name (required)")
	// Without an owner the tenant has no key at all: only the operator's
	// recover-owner could give it one later.
	showsKeyOnce(create, "owner_api_key", func() bool { return owner != "" })
	create.Flags().StringVar(&owner, "owner", "", "subject of the tenant's first owner (e.g. alice@example.com): creates the owner and an owner key with scope admin, printed once as owner_api_key")
	cmd.AddCommand(create,
		verb(f, "list", "List tenants", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/tenants", nil, nil, nil
		}),
		verb(f, "get TENANT_ID", "Show a tenant", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/tenants/" + esc(a[0]), nil, nil, nil
		}),
		verb(f, "suspend TENANT_ID", "Suspend a tenant: all its keys fail at once", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPost, "/v1/tenants/" + esc(a[0]) + ":suspend", nil, map[string]any{}, nil
		}),
		verb(f, "resume TENANT_ID", "Resume a suspended tenant", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodPost, "/v1/tenants/" + esc(a[0]) + ":resume", nil, map[string]any{}, nil
		}),
		verb(f, "delete TENANT_ID", "Delete a tenant (soft delete, purged after the grace period)", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodDelete, "/v1/tenants/" + esc(a[0]), nil, nil, nil
		}),
		newShredCmd(),
		newBootstrapCmd(),
		newRecoverOwnerCmd(),
		newTenantLimitsCmd(f),
	)
	return cmd
}

// showsKeyOnce makes a verb that answers with a new API key (in field)
// say, on stderr, that the key cannot be read again, as tenant bootstrap
// does; issued, when not nil, says whether this call made one.
func showsKeyOnce(cmd *cobra.Command, field string, issued func() bool) {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := run(c, args); err != nil {
			return err
		}
		if issued == nil || issued() {
			fmt.Fprintf(c.ErrOrStderr(), "The %s is shown once: store it now (rampart key list shows only metadata).\n", field)
		}
		return nil
	}
}

func newKeyCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage API keys of your tenant"}
	var name, subject string
	var scopes, models, endpoints []string
	var ttl, rpm, tpm, budget int64
	create := verb(f, "create", "Create an API key (the plaintext is shown once); it never gets more than the key that creates it", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		body := map[string]any{"name": name, "scopes": scopes, "allowed_models": models}
		if len(endpoints) > 0 {
			body["allowed_endpoints"] = endpoints
		}
		if rpm > 0 || tpm > 0 || budget > 0 {
			body["limits"] = map[string]any{"requests_per_minute": rpm, "tokens_per_minute": tpm, "monthly_token_budget": budget}
		}
		if ttl > 0 {
			body["ttl_seconds"] = ttl
		}
		if subject != "" {
			body["subject"] = subject
		}
		return http.MethodPost, "/v1/keys", nil, body, nil
	})
	showsKeyOnce(create, "api_key", nil)
	create.Flags().StringVar(&name, "name", "", "key name (required)")
	create.Flags().StringVar(&subject, "subject", "", "member the key belongs to (default: you)")
	create.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes (required), comma-separated: "+strings.Join(permissions.AllScopes, ", "))
	create.Flags().StringSliceVar(&models, "models", nil, "allowed models (default: every model the tenant allows, which a key limited to some models cannot grant: list them)")
	create.Flags().Int64Var(&ttl, "ttl-seconds", 0, "lifetime in seconds (default 90 days)")
	create.Flags().StringSliceVar(&endpoints, "endpoints", nil, "allowed endpoint path prefixes, e.g. /v1/chat/ (default: every endpoint its scopes reach)")
	create.Flags().Int64Var(&rpm, "rpm", 0, "requests per minute for this key (0: the tenant's)")
	create.Flags().Int64Var(&tpm, "tpm", 0, "tokens per minute for this key (0: the tenant's)")
	create.Flags().Int64Var(&budget, "monthly-tokens", 0, "token budget per calendar month (UTC) for this key (0: the tenant's)")
	var overlap int64
	rotate := verb(f, "rotate KEY_ID", "Issue a replacement key; the old one works for the overlap", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		body := map[string]any{}
		if overlap > 0 {
			body["overlap_seconds"] = overlap
		}
		return http.MethodPost, "/v1/keys/" + esc(a[0]) + ":rotate", nil, body, nil
	})
	rotate.Flags().Int64Var(&overlap, "overlap-seconds", 0, "overlap in seconds (default 14 days)")
	showsKeyOnce(rotate, "api_key", nil)
	var cascade bool
	revoke := verb(f, "revoke KEY_ID", "Revoke a key immediately", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		body := map[string]any{}
		if cascade {
			body["cascade"] = true
		}
		return http.MethodPost, "/v1/keys/" + esc(a[0]) + ":revoke", nil, body, nil
	})
	revoke.Flags().BoolVar(&cascade, "cascade", false,
		"also revoke every key made with it (created or rotated by it, its replacement included), to the end: for a leaked key (also after it was revoked)")
	cmd.AddCommand(create, rotate, revoke,
		verb(f, "list", "List keys (metadata only)", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/keys", nil, nil, nil
		}),
		verb(f, "get KEY_ID", "Show a key's metadata", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/keys/" + esc(a[0]), nil, nil, nil
		}),
	)
	return cmd
}

// roles are the member roles, strongest first.
var roles = []string{"owner", "admin", "member", "viewer"}

func newMemberCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Manage members (users and service accounts) of your tenant"}
	var subject, role, kind string
	create := verb(f, "create", "Add a member", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		r, err := enumName("role", "ROLE_", role, roles...)
		if err != nil {
			return "", "", nil, nil, err
		}
		body := map[string]any{"subject": subject, "role": r}
		if kind != "" {
			if body["kind"], err = enumName("kind", "MEMBER_KIND_", kind, "user", "service_account"); err != nil {
				return "", "", nil, nil, err
			}
		}
		return http.MethodPost, "/v1/members", nil, body, nil
	})
	create.Flags().StringVar(&subject, "subject", "", "user email or service account name")
	create.Flags().StringVar(&role, "role", "member", "owner, admin, member or viewer")
	create.Flags().StringVar(&kind, "kind", "", "user or service_account")
	var newRole string
	update := verb(f, "set-role MEMBER_ID", "Change a member's role", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
		r, err := enumName("role", "ROLE_", newRole, roles...)
		if err != nil {
			return "", "", nil, nil, err
		}
		return http.MethodPatch, "/v1/members/" + esc(a[0]), nil, map[string]any{"role": r}, nil
	})
	update.Flags().StringVar(&newRole, "role", "", "owner, admin, member or viewer")
	cmd.AddCommand(create, update,
		verb(f, "list", "List members", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/members", nil, nil, nil
		}),
		verb(f, "get MEMBER_ID", "Show a member", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/members/" + esc(a[0]), nil, nil, nil
		}),
		verb(f, "delete MEMBER_ID", "Remove a member", 1, func(_ *cobra.Command, a []string) (string, string, url.Values, any, error) {
			return http.MethodDelete, "/v1/members/" + esc(a[0]), nil, nil, nil
		}),
	)
	return cmd
}

func newAuditCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify your tenant's audit log (auth's: keys, members, tenants, failed sign-ins)",
		// A newcomer who just read a secret looks for it here; say where it is.
		Long: "Read and verify your tenant's audit log: auth's hash chain of key, member and tenant changes and failed sign-ins.\n" +
			"Secret reads and writes are in keyvault's own audit log, which no REST route serves\n" +
			"(the dev stack: the file .rampart/keyvault/audit.log, a JSON line per call; on PostgreSQL a hash chain\n" +
			"in keyvault's database; services/keyvault/README.md).",
	}
	var pageSize int
	list := verb(f, "list", "List audit events, newest first", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		q := url.Values{}
		if pageSize > 0 {
			q.Set("page_size", fmt.Sprint(pageSize))
		}
		return http.MethodGet, "/v1/audit", q, nil, nil
	})
	list.Flags().IntVar(&pageSize, "limit", 0, "maximum events")
	cmd.AddCommand(list,
		verb(f, "verify", "Verify the audit hash chain", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
			return http.MethodGet, "/v1/audit:verify", nil, nil, nil
		}),
	)
	return cmd
}

func newUsageCmd(f *apiFlags) *cobra.Command {
	var from, to, groupBy string
	cmd := verb(f, "usage", "Show token usage and cost of your tenant", 0, func(*cobra.Command, []string) (string, string, url.Values, any, error) {
		q := url.Values{}
		for k, v := range map[string]string{"from": from, "to": to, "group_by": groupBy} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return http.MethodGet, "/v1/usage", q, nil, nil
	})
	cmd.Flags().StringVar(&from, "from", "", "start (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "end (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&groupBy, "group-by", "", "key, model or day")
	return cmd
}

// newAPICmd is the escape hatch: any REST call with the configured key.
func newAPICmd(f *apiFlags) *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "api METHOD PATH",
		Short: "Call any REST route, e.g. rampart api GET /v1/keys",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			var body any
			if data != "" {
				body = []byte(data)
			}
			return f.call(cmd, strings.ToUpper(a[0]), a[1], nil, body)
		},
	}
	cmd.Flags().StringVarP(&data, "data", "d", "", "JSON request body")
	return cmd
}
