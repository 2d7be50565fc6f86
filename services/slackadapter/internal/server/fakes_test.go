package server_test

import (
	"testing"

	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// slackAuthPolicy admits the slackadapter alone to VerifyKey and the
// tenant event and revocation streams (auth's allow-list), everyone to the
// rest.
var slackAuthPolicy = []byte(`{"rules": [
 {"methods": ["/rampart.auth.v1.AuthService/VerifyKey", "/rampart.auth.v1.AuthService/WatchTenantEvents", "/rampart.auth.v1.AuthService/WatchRevocations"],
  "callers": ["spiffe://rampart.local/svc/slackadapter"]},
 {"methods": ["/rampart.auth.v1.AuthService/GetSigningKeys", "/rampart.auth.v1.KeyService/CreateKey"], "callers": ["*"]}
]}`)

// startAuth serves pkg/authtest's AuthService, minting assertions with
// the signer the fake keyvault and inference verify.
func startAuth(t testing.TB, pkiDir string, signer *principal.Signer) *authtest.Server {
	t.Helper()
	return authtest.StartWith(t, pkiDir, authtest.Options{Signer: signer, Policy: slackAuthPolicy})
}

// createdTenants lists the tenant of every key auth created.
func createdTenants(a *authtest.Server) []string {
	var out []string
	for _, c := range a.Created() {
		out = append(out, c.Tenant)
	}
	return out
}

// startVault serves pkg/keyvaulttest's keyvault, admitting only the
// slackadapter identity to /{env}/slackadapter/* (keyvault's default
// policy), verifying the assertions of signer.
func startVault(t testing.TB, pkiDir string, signer *principal.Signer) *keyvaulttest.Server {
	t.Helper()
	return keyvaulttest.Start(t, pkiDir, keyvaulttest.Options{
		Keys: principal.StaticKeys{signer.KID(): signer.PublicKey()}, Caller: "slackadapter"})
}
