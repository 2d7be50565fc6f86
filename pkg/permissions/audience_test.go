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
