package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// Authorization review 2026-12-06 night (ADR 0069 §2, fixed by ADR 0076):
// a key with an RPM or TPM limit and keys:write could mint any number of
// keys with the same limit, each with its own bucket at the edge and in
// inference. Every key minted or rotated from a limited key now carries
// that key's pool in its principal, and the edge and inference charge the
// pool's bucket as well as the key's own.

func TestMintedKeysShareTheirMintersRate(t *testing.T) { forEachStore(t, mintedKeysShareRate) }

func mintedKeysShareRate(t *testing.T, e *env) {
	a := e.acme(t)
	limited := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "limited", Scopes: []string{"chat:write", "keys:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 60, TokensPerMinute: 1000}})
	child := e.ownKey(t, limited, &authv1.CreateKeyRequest{Name: "child", Scopes: []string{"chat:write", "keys:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 60, TokensPerMinute: 1000}})
	narrower := e.ownKey(t, limited, &authv1.CreateKeyRequest{Name: "narrower", Scopes: []string{"chat:write", "keys:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 10, TokensPerMinute: 100}})
	grandchild := e.ownKey(t, child, &authv1.CreateKeyRequest{Name: "grandchild", Scopes: []string{"chat:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 60, TokensPerMinute: 1000}})
	rotated, err := a.kc.RotateKey(e.as(t, child), &authv1.RotateKeyRequest{KeyId: child[3:15]})
	require.NoError(t, err)
	// A key rotated by the owner (no limits) for a pool member stays in the
	// member's pool, not the rotator's.
	rotatedByOwner, err := a.kc.RotateKey(e.as(t, a.owner), &authv1.RotateKeyRequest{KeyId: grandchild[3:15]})
	require.NoError(t, err)
	// Unlimited keys start no pool; a limited key they mint starts its own.
	unlimited := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "unlimited", Scopes: []string{"chat:write", "keys:write"}})
	root := e.ownKey(t, unlimited, &authv1.CreateKeyRequest{Name: "root", Scopes: []string{"chat:write", "keys:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 30}})
	underRoot := e.ownKey(t, root, &authv1.CreateKeyRequest{Name: "under root", Scopes: []string{"chat:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 30, TokensPerMinute: 50}})
	rotatedRoot, err := a.kc.RotateKey(e.as(t, root), &authv1.RotateKeyRequest{KeyId: root[3:15]})
	require.NoError(t, err)

	pool := func(key string, perMinute int64) *authv1.RatePool {
		return &authv1.RatePool{KeyId: key[3:15], PerMinute: perMinute}
	}
	for _, tt := range []struct {
		name             string
		key              string
		requests, tokens *authv1.RatePool
	}{
		{"the limited key is its pool's first key: its own bucket is the pool's", limited, nil, nil},
		{"minted with the same limits", child, pool(limited, 60), pool(limited, 1000)},
		{"minted with narrower limits: its own bucket is narrower, the pool the same", narrower, pool(limited, 60), pool(limited, 1000)},
		{"minted by a minted key: the first limited key's pool", grandchild, pool(limited, 60), pool(limited, 1000)},
		{"rotated by itself", rotated.GetApiKey(), pool(limited, 60), pool(limited, 1000)},
		{"rotated by an unlimited key", rotatedByOwner.GetApiKey(), pool(limited, 60), pool(limited, 1000)},
		{"unlimited", unlimited, nil, nil},
		{"limited, minted by an unlimited key", root, nil, nil},
		{"TPM limited where its minter is not: its own TPM bucket only", underRoot, pool(root, 30), nil},
		{"the first key rotated: the replacement shares the original's bucket", rotatedRoot.GetApiKey(), pool(root, 30), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.verify(t.Context(), tt.key)
			require.NoError(t, err)
			p := resp.GetPrincipal()
			require.Equal(t, tt.requests.GetKeyId(), p.GetRequestsPool().GetKeyId())
			require.Equal(t, tt.requests.GetPerMinute(), p.GetRequestsPool().GetPerMinute())
			require.Equal(t, tt.tokens.GetKeyId(), p.GetTokensPool().GetKeyId())
			require.Equal(t, tt.tokens.GetPerMinute(), p.GetTokensPool().GetPerMinute())
		})
	}

	// Revoking the pool's first key leaves its pool binding the rest.
	_, err = a.kc.RevokeKey(e.as(t, a.owner), &authv1.RevokeKeyRequest{KeyId: limited[3:15]})
	require.NoError(t, err)
	resp, err := e.verify(t.Context(), narrower)
	require.NoError(t, err)
	require.Equal(t, limited[3:15], resp.GetPrincipal().GetRequestsPool().GetKeyId())
}
