package permissions_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// TestForwardsAreCallees: a service forwards a principal only to a service
// whose RPCs admit it with a principal, and only services that serve RPCs
// (every RPC's service is one of the mesh's names).
func TestForwardsAreCallees(t *testing.T) {
	tab := permissions.Default()
	services := []string{permissions.Auth, permissions.Keyvault, permissions.Inference, permissions.Ingestion, permissions.SlackAdapter}
	for _, r := range tab.RPCs() {
		require.Contains(t, services, permissions.ServiceOf(r.Name), r.Name)
	}
	for _, svc := range append(services, permissions.Edge, permissions.CLI) {
		for _, d := range tab.Forwards(svc) {
			require.Contains(t, tab.Callees(svc), d, "%s forwards to %s, which takes no principal from it", svc, d)
		}
	}
}

// TestAudiences pins who holds which assertions (ADR 0083): a call to a
// service carries assertions for exactly the services it acts on further,
// and VerifyKey hands a caller only audiences it can use. The cases that
// matter most are the refusals: keyvault, which receives every secret
// caller's assertion, gets none for auth; inference none for auth or the
// Slack adapter.
func TestAudiences(t *testing.T) {
	tab := permissions.Default()
	for _, tt := range []struct {
		svc                 string
		delegates, audience []string
	}{
		{permissions.Auth, nil, []string{"keyvault"}},
		{permissions.Keyvault, nil, []string{"auth"}},
		{permissions.Inference, []string{"ingestion", "keyvault"}, []string{"ingestion", "keyvault"}},
		{permissions.Ingestion, []string{"keyvault"}, []string{"inference", "ingestion", "keyvault"}},
		{permissions.SlackAdapter, []string{"auth", "ingestion", "keyvault"}, []string{"auth", "inference", "ingestion", "keyvault"}},
		{permissions.Edge, nil, []string{"auth", "inference", "ingestion", "keyvault", "slackadapter"}},
	} {
		t.Run(tt.svc, func(t *testing.T) {
			require.Equal(t, tt.delegates, tab.Delegates(tt.svc), "delegates")
			require.Equal(t, tt.audience, tab.Audiences(tt.svc), "audiences")
			require.NotContains(t, tab.Delegates(tt.svc), tt.svc, "a service's own assertion is never a delegation")
		})
	}
	for _, svc := range []string{permissions.Keyvault, permissions.Inference, permissions.Ingestion} {
		require.False(t, slices.Contains(tab.Delegates(svc), permissions.Auth), "%s never holds an assertion for auth on a caller's behalf", svc)
	}
}

// TestMayObtain: auth's per-call check agrees with Audiences for every
// pair of mesh names, refuses unknown callers and audiences, and a
// caller changing the slice Audiences returned changes nothing.
func TestMayObtain(t *testing.T) {
	tab := permissions.Default()
	names := []string{permissions.Auth, permissions.Keyvault, permissions.Inference, permissions.Ingestion, permissions.SlackAdapter, permissions.Edge, permissions.CLI, "nobody", ""}
	for _, caller := range names {
		for _, aud := range names {
			require.Equal(t, slices.Contains(tab.Audiences(caller), aud), tab.MayObtain(caller, aud), "%s -> %s", caller, aud)
		}
	}
	for _, tt := range []struct {
		caller, audience string
		want             bool
	}{
		{permissions.Edge, permissions.Inference, true},
		{permissions.Inference, permissions.Keyvault, true},
		{permissions.Keyvault, permissions.Auth, true},
		{permissions.Keyvault, permissions.Inference, false},
		{permissions.Inference, permissions.Auth, false},
		{"nobody", permissions.Auth, false},
		{permissions.Edge, "", false},
	} {
		require.Equal(t, tt.want, tab.MayObtain(tt.caller, tt.audience), "%s -> %s", tt.caller, tt.audience)
	}
	got := tab.Audiences(permissions.Inference)
	got[0] = permissions.Auth
	require.False(t, tab.MayObtain(permissions.Inference, permissions.Auth), "Audiences hands out a copy")
}

func TestServiceOf(t *testing.T) {
	for in, want := range map[string]string{
		"/rampart.keyvault.v1.KmsService/Decrypt":             "keyvault",
		"/rampart.auth.v1.KeyService/CreateKey":               "auth",
		"/rampart.slackadapter.v1.SlackAdapterService/GetApp": "slackadapter",
		"/grpc.health.v1.Health/Check":                        "",
		"":                                                    "",
		"/rampart":                                            "",
	} {
		require.Equal(t, want, permissions.ServiceOf(in), in)
	}
}

// TestCallDelegates (ADR 0105 §3): the Slack adapter's calls carry an
// admin's delegation for auth only on the install link, whose call creates
// the adapter's tenant key; ingestion's (and keyvault's, which ingestion
// forwards to) only where it checks collections; none elsewhere. Every
// other RPC keeps its service's delegations, and every Slack RPC taking a
// principal says what it forwards, so a new one does not get the
// service's whole list by default.
func TestCallDelegates(t *testing.T) {
	tab := permissions.Default()
	slack := "/rampart.slackadapter.v1.SlackAdapterService/"
	for rpc, want := range map[string][]string{
		"GetInstallUrl":            {"auth"},
		"ListInstallations":        nil,
		"ListBindings":             nil,
		"DeleteBinding":            nil,
		"SetBinding":               {"ingestion", "keyvault"},
		"SetInstallationPolicy":    {"ingestion", "keyvault"},
		"UpdateInstallationPolicy": {"ingestion", "keyvault"},
	} {
		got, narrowed := tab.CallDelegates(slack + rpc)
		require.True(t, narrowed, rpc)
		require.Equal(t, want, got, rpc)
	}
	for _, r := range tab.RPCs() {
		_, narrowed := tab.CallDelegates(r.Name)
		if permissions.ServiceOf(r.Name) == permissions.SlackAdapter && r.Principal {
			require.True(t, narrowed, "%s says which services it forwards to", r.Name)
		} else {
			require.False(t, narrowed, "%s keeps its service's delegations", r.Name)
		}
	}
}

// TestNarrowingNeverWidens: an RPC's Forwards may only name services its
// service forwards to, and only on an RPC that takes a principal.
func TestNarrowingNeverWidens(t *testing.T) {
	for name, rpc := range map[string]permissions.RPC{
		"a service the adapter does not forward to": {Name: "/rampart.slackadapter.v1.SlackAdapterService/X",
			Callers: []string{permissions.Edge}, Principal: true, Forwards: []string{permissions.Keyvault}},
		"a service that forwards nothing": {Name: "/rampart.keyvault.v1.KmsService/X",
			Callers: []string{permissions.Edge}, Principal: true, Forwards: []string{permissions.Auth}},
		"no principal": {Name: "/rampart.slackadapter.v1.SlackAdapterService/X",
			Callers: []string{permissions.Edge}, Forwards: []string{permissions.Auth}},
	} {
		_, err := permissions.New(nil, []permissions.RPC{rpc})
		require.Error(t, err, name)
	}
	_, err := permissions.New(nil, []permissions.RPC{{Name: "/rampart.slackadapter.v1.SlackAdapterService/X",
		Callers: []string{permissions.Edge}, Principal: true, Forwards: []string{permissions.Auth}}})
	require.NoError(t, err)
}

// TestRoutesResolveTheirForwarding (ADR 0107): every route of a table has
// its service and its RPC's CallDelegates resolved by New, the same as
// the table's look-ups answer, so the edge reads them from the route
// instead of looking them up per request; a Route written as a literal
// has nothing resolved (the edge asks the table for it).
func TestRoutesResolveTheirForwarding(t *testing.T) {
	tab := permissions.Default()
	narrowedRoutes := 0
	for _, r := range tab.Routes() {
		require.True(t, r.Resolved(), r.Key())
		require.Equal(t, permissions.ServiceOf(r.RPC), r.Service(), r.Key())
		want, wantNarrowed := tab.CallDelegates(r.RPC)
		got, narrowed := r.CallDelegates()
		require.Equal(t, wantNarrowed, narrowed, r.Key())
		require.Equal(t, want, got, r.Key())
		if narrowed {
			narrowedRoutes++
		}
		m, _ := tab.Match(r.Method, r.Pattern)
		if m != nil && m.Key() == r.Key() {
			require.True(t, m.Resolved(), "Match answers the table's own route %s", r.Key())
		}
	}
	require.NotZero(t, narrowedRoutes, "the Slack admin routes narrow their forwarding")
	chat, _ := tab.Match("POST", "/v1/chat/completions")
	require.NotNil(t, chat)
	require.Equal(t, permissions.Inference, chat.Service())
	_, narrowed := chat.CallDelegates()
	require.False(t, narrowed, "chat keeps inference's delegations")

	literal := permissions.Route{Method: "GET", Pattern: "/v1/slack/installations", RPC: "/rampart.slackadapter.v1.SlackAdapterService/ListInstallations"}
	require.False(t, literal.Resolved())
	require.Empty(t, literal.Service())
	d, narrowed := literal.CallDelegates()
	require.Nil(t, d)
	require.False(t, narrowed)
}
