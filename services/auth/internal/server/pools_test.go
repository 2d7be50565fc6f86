package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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

// ADR 0086: a narrower limit nests. Key A (60 RPM) mints B (10 RPM,
// keys:write); the keys B mints are charged to A's bucket and B's, so B's
// holder gets B's 10, not A's 60, with any number of them. On the code of
// ADR 0076 their principals carried A's pool alone.
func TestNarrowerLimitsNest(t *testing.T) { forEachStore(t, narrowerLimitsNest) }

func narrowerLimitsNest(t *testing.T, e *env) {
	a := e.acme(t)
	mint := func(from string, rpm, tpm int64) string {
		return e.ownKey(t, from, &authv1.CreateKeyRequest{Name: "nested", Scopes: []string{"chat:write", "keys:write"},
			Limits: &authv1.Limits{RequestsPerMinute: rpm, TokensPerMinute: tpm}})
	}
	keyA := mint(a.owner, 60, 1000)
	keyB := mint(keyA, 10, 1000) // narrower RPM, the same TPM
	underB := mint(keyB, 10, 500)
	underUnderB := mint(underB, 10, 500)
	rotatedB, err := a.kc.RotateKey(e.as(t, a.owner), &authv1.RotateKeyRequest{KeyId: keyB[3:15]})
	require.NoError(t, err)
	// Four levels: 60, 50, 40, 30; a fifth narrower one is refused, one
	// at the narrowest rate is not (it adds no level).
	d2 := mint(keyA, 50, 1000)
	d3 := mint(d2, 40, 1000)
	d4 := mint(d3, 30, 1000)
	atBound := mint(d4, 30, 1000)
	_, err = authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, d4), &authv1.CreateKeyRequest{Name: "too deep", Scopes: []string{"chat:write"},
		Limits: &authv1.Limits{RequestsPerMinute: 20, TokensPerMinute: 1000}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "narrower limits nest at most 4 levels deep")
	require.Contains(t, status.Convert(err).Message(), "set it to 30")
	rotatedD4, err := a.kc.RotateKey(e.as(t, d4), &authv1.RotateKeyRequest{KeyId: d4[3:15]})
	require.NoError(t, err, "a rotation never nests deeper")

	pool := func(key string, perMinute int64) *authv1.RatePool {
		return &authv1.RatePool{KeyId: key[3:15], PerMinute: perMinute}
	}
	type pools = []*authv1.RatePool
	for _, tt := range []struct {
		name             string
		key              string
		requests, tokens pools
	}{
		{"the first key", keyA, nil, nil},
		{"narrower than its minter", keyB, pools{pool(keyA, 60)}, pools{pool(keyA, 1000)}},
		{"minted by the narrower key: both buckets (TPM as wide: one)", underB, pools{pool(keyA, 60), pool(keyB, 10)}, pools{pool(keyA, 1000)}},
		{"a level deeper at the same rates: no new level", underUnderB, pools{pool(keyA, 60), pool(keyB, 10)}, pools{pool(keyA, 1000), pool(underB, 500)}},
		{"the narrower key rotated: shares its original's bucket", rotatedB.GetApiKey(), pools{pool(keyA, 60), pool(keyB, 10)}, pools{pool(keyA, 1000)}},
		{"four levels", d4, pools{pool(keyA, 60), pool(d2, 50), pool(d3, 40)}, pools{pool(keyA, 1000)}},
		{"at the bound", atBound, pools{pool(keyA, 60), pool(d2, 50), pool(d3, 40), pool(d4, 30)}, pools{pool(keyA, 1000)}},
		{"the deepest rotated", rotatedD4.GetApiKey(), pools{pool(keyA, 60), pool(d2, 50), pool(d3, 40), pool(d4, 30)}, pools{pool(keyA, 1000)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.verify(t.Context(), tt.key)
			require.NoError(t, err)
			p := resp.GetPrincipal()
			for _, d := range []struct {
				want, got pools
				legacy    *authv1.RatePool
			}{{tt.requests, p.GetRequestsPools(), p.GetRequestsPool()}, {tt.tokens, p.GetTokensPools(), p.GetTokensPool()}} {
				require.Len(t, d.got, len(d.want))
				for i := range d.want {
					require.True(t, proto.Equal(d.want[i], d.got[i]), "pool %d: %v, want %v", i, d.got[i], d.want[i])
				}
				if len(d.want) > 0 {
					require.True(t, proto.Equal(d.want[0], d.legacy), "the outermost is the ADR 0076 field for services before ADR 0086")
				} else {
					require.Nil(t, d.legacy)
				}
			}
		})
	}
}
