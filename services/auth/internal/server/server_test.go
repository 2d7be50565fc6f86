package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "modernc.org/sqlite"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/atrest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

func code(err error) codes.Code { return status.Code(err) }

func TestKeyLifecycle(t *testing.T) { forEachStore(t, keyLifecycle) }

func keyLifecycle(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	keysC := authv1.NewKeyServiceClient(e.edge)
	created, err := keysC.CreateKey(e.as(t, owner), &authv1.CreateKeyRequest{Name: "app", Scopes: []string{"chat:write"}, TtlSeconds: 30 * 86400})
	require.NoError(t, err)
	orig := created.GetApiKey()
	var rotated string
	e.plaintexts = append(e.plaintexts, orig)

	steps := []struct {
		name   string
		do     func(t *testing.T)
		usable map[*string]bool
	}{
		{name: "created key works", do: func(*testing.T) {}, usable: map[*string]bool{&orig: true}},
		{name: "rotate: both work during the overlap", do: func(t *testing.T) {
			r, err := keysC.RotateKey(e.as(t, owner), &authv1.RotateKeyRequest{KeyId: created.GetKey().GetKeyId(), OverlapSeconds: 3600})
			require.NoError(t, err)
			require.Equal(t, authv1.KeyState_KEY_STATE_ROTATING, r.GetPrevious().GetState())
			require.Equal(t, r.GetKey().GetKeyId(), r.GetPrevious().GetReplacedBy())
			rotated = r.GetApiKey()
			e.plaintexts = append(e.plaintexts, rotated)
		}, usable: map[*string]bool{&orig: true, &rotated: true}},
		{name: "still inside the overlap", do: func(*testing.T) { e.clock.Advance(59 * time.Minute) }, usable: map[*string]bool{&orig: true, &rotated: true}},
		{name: "after the overlap only the new key works", do: func(t *testing.T) {
			e.clock.Advance(2 * time.Minute)
			_, err := e.svc.Sweep(t.Context())
			require.NoError(t, err)
			k, err := keysC.GetKey(e.as(t, owner), &authv1.GetKeyRequest{KeyId: created.GetKey().GetKeyId()})
			require.NoError(t, err)
			require.Equal(t, authv1.KeyState_KEY_STATE_EXPIRED, k.GetKey().GetState())
		}, usable: map[*string]bool{&orig: false, &rotated: true}},
		{name: "revoke is immediate", do: func(t *testing.T) {
			id := rotated[3:15]
			r, err := keysC.RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: id})
			require.NoError(t, err)
			require.Equal(t, authv1.KeyState_KEY_STATE_REVOKED, r.GetKey().GetState())
		}, usable: map[*string]bool{&orig: false, &rotated: false}},
		{name: "a key past its expiry fails", do: func(t *testing.T) {
			c, err := keysC.CreateKey(e.as(t, owner), &authv1.CreateKeyRequest{Name: "short", Scopes: []string{"chat:write"}, TtlSeconds: 60})
			require.NoError(t, err)
			rotated = c.GetApiKey()
			e.plaintexts = append(e.plaintexts, rotated)
			_, err = e.verify(t.Context(), rotated)
			require.NoError(t, err)
			e.clock.Advance(61 * time.Second)
		}, usable: map[*string]bool{&rotated: false}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			for k, want := range st.usable {
				resp, err := e.verify(t.Context(), *k)
				if want {
					require.NoError(t, err)
					require.NotEmpty(t, resp.GetAssertion())
					require.LessOrEqual(t, resp.GetCacheUntil(), e.clock.Now().Add(30*time.Second).Unix())
				} else {
					require.Equal(t, codes.Unauthenticated, code(err))
					require.Equal(t, "invalid api key", status.Convert(err).Message())
				}
			}
		})
	}
}

func TestVerifyFailuresAreIndistinguishable(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	good := e.member(t, owner, "dev@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	// Same id, different secret with a valid checksum is built by flipping
	// a secret character and recomputing nothing: use Parse-valid forms only.
	cases := map[string]string{
		"empty":        "",
		"malformed":    "rk_short",
		"bad checksum": good[:len(good)-1] + string(rune('A'+(good[len(good)-1]-'A'+1)%26)),
		"unknown key":  e.member(t, owner, "x@acme", authv1.Role_ROLE_MEMBER, "chat:write"),
	}
	// Revoke the "unknown key" so it is a well-formed key that no longer works.
	_, err := authv1.NewKeyServiceClient(e.edge).RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: cases["unknown key"][3:15]})
	require.NoError(t, err)
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.verify(t.Context(), k)
			require.Equal(t, codes.Unauthenticated, code(err))
			require.Equal(t, "invalid api key", status.Convert(err).Message())
		})
	}
	t.Run("suspended tenant", func(t *testing.T) {
		_, err := authv1.NewTenantServiceClient(e.edge).SuspendTenant(e.as(t, e.platformKey), &authv1.SuspendTenantRequest{TenantId: tid})
		require.NoError(t, err)
		_, err = e.verify(t.Context(), good)
		require.Equal(t, codes.Unauthenticated, code(err))
		_, err = authv1.NewTenantServiceClient(e.edge).ResumeTenant(e.as(t, e.platformKey), &authv1.ResumeTenantRequest{TenantId: tid})
		require.NoError(t, err)
		_, err = e.verify(t.Context(), good)
		require.NoError(t, err)
	})
	t.Run("removed member", func(t *testing.T) {
		ms, err := authv1.NewMemberServiceClient(e.edge).ListMembers(e.as(t, owner), &authv1.ListMembersRequest{})
		require.NoError(t, err)
		for _, m := range ms.GetMembers() {
			if m.GetSubject() == "dev@acme" {
				_, err := authv1.NewMemberServiceClient(e.edge).DeleteMember(e.as(t, owner), &authv1.DeleteMemberRequest{MemberId: m.GetMemberId()})
				require.NoError(t, err)
			}
		}
		_, err = e.verify(t.Context(), good)
		require.Equal(t, codes.Unauthenticated, code(err))
	})
}

func TestCrossTenantIsNotFound(t *testing.T) { forEachStore(t, crossTenantIsNotFound) }

func crossTenantIsNotFound(t *testing.T, e *env) {
	tidA, ownerA := e.tenant(t, "a")
	tidB, ownerB := e.tenant(t, "b")
	keyB, err := authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, ownerB), &authv1.CreateKeyRequest{Name: "b", Scopes: []string{"chat:write"}})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, keyB.GetApiKey())
	membersB, err := authv1.NewMemberServiceClient(e.edge).ListMembers(e.as(t, ownerB), &authv1.ListMembersRequest{})
	require.NoError(t, err)
	memberB := membersB.GetMembers()[0].GetMemberId()
	bKeyID := keyB.GetKey().GetKeyId()

	ctxA := e.as(t, ownerA)
	kc, mc, tc, ac := authv1.NewKeyServiceClient(e.edge), authv1.NewMemberServiceClient(e.edge), authv1.NewTenantServiceClient(e.edge), authv1.NewAuditServiceClient(e.edge)
	calls := map[string]func() error{
		"get key":    func() error { _, err := kc.GetKey(ctxA, &authv1.GetKeyRequest{KeyId: bKeyID}); return err },
		"rotate key": func() error { _, err := kc.RotateKey(ctxA, &authv1.RotateKeyRequest{KeyId: bKeyID}); return err },
		"revoke key": func() error { _, err := kc.RevokeKey(ctxA, &authv1.RevokeKeyRequest{KeyId: bKeyID}); return err },
		"get member": func() error { _, err := mc.GetMember(ctxA, &authv1.GetMemberRequest{MemberId: memberB}); return err },
		"update member": func() error {
			_, err := mc.UpdateMember(ctxA, &authv1.UpdateMemberRequest{MemberId: memberB, Role: authv1.Role_ROLE_VIEWER})
			return err
		},
		"delete member": func() error {
			_, err := mc.DeleteMember(ctxA, &authv1.DeleteMemberRequest{MemberId: memberB})
			return err
		},
		"get tenant": func() error { _, err := tc.GetTenant(ctxA, &authv1.GetTenantRequest{TenantId: tidB}); return err },
		"suspend tenant": func() error {
			_, err := tc.SuspendTenant(ctxA, &authv1.SuspendTenantRequest{TenantId: tidB})
			return err
		},
		"delete tenant": func() error { _, err := tc.DeleteTenant(ctxA, &authv1.DeleteTenantRequest{TenantId: tidB}); return err },
		"list audit": func() error {
			_, err := ac.ListAuditEvents(ctxA, &authv1.ListAuditEventsRequest{TenantId: tidB})
			return err
		},
		"verify audit": func() error {
			_, err := ac.VerifyAuditChain(ctxA, &authv1.VerifyAuditChainRequest{TenantId: tidB})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Equal(t, codes.NotFound, code(err), "err: %v", err)
			require.True(t, strings.HasSuffix(status.Convert(err).Message(), ": not found"), status.Convert(err).Message())
		})
	}
	t.Run("lists show only the caller's tenant", func(t *testing.T) {
		ks, err := kc.ListKeys(ctxA, &authv1.ListKeysRequest{})
		require.NoError(t, err)
		for _, k := range ks.GetKeys() {
			require.NotEqual(t, bKeyID, k.GetKeyId())
		}
		ts, err := tc.ListTenants(ctxA, &authv1.ListTenantsRequest{})
		require.NoError(t, err)
		require.Len(t, ts.GetTenants(), 1)
		require.Equal(t, tidA, ts.GetTenants()[0].GetTenantId())
		au, err := ac.ListAuditEvents(ctxA, &authv1.ListAuditEventsRequest{})
		require.NoError(t, err)
		for _, ev := range au.GetEvents() {
			require.Equal(t, tidA, ev.GetTenantId())
		}
	})
	t.Run("B's key is untouched", func(t *testing.T) {
		_, err := e.verify(t.Context(), keyB.GetApiKey())
		require.NoError(t, err)
	})
	t.Run("platform admin sees every tenant", func(t *testing.T) {
		_, err := tc.GetTenant(e.as(t, e.platformKey), &authv1.GetTenantRequest{TenantId: tidB})
		require.NoError(t, err)
		res, err := ac.VerifyAuditChain(e.as(t, e.platformKey), &authv1.VerifyAuditChainRequest{TenantId: tidB})
		require.NoError(t, err)
		require.True(t, res.GetOk())
	})
}

func TestRoleMatrix(t *testing.T) { forEachStore(t, roleMatrix) }

func roleMatrix(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	member := e.member(t, owner, "member@acme", authv1.Role_ROLE_MEMBER, "chat:write", "keys:write")
	memberChat := e.member(t, owner, "chat@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	viewer := e.member(t, owner, "viewer@acme", authv1.Role_ROLE_VIEWER, "usage:read")
	ownerChatOnly := e.member(t, owner, "owner2@acme", authv1.Role_ROLE_OWNER, "chat:write")
	kc, mc, tc := authv1.NewKeyServiceClient(e.edge), authv1.NewMemberServiceClient(e.edge), authv1.NewTenantServiceClient(e.edge)

	tests := []struct {
		name string
		key  *string
		call func(ctx context.Context) error
		want codes.Code
	}{
		{"viewer cannot create keys", &viewer, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "v", Scopes: []string{"usage:read"}})
			return err
		}, codes.PermissionDenied},
		{"member creates an own key within its role", &member, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "m", Scopes: []string{"chat:write"}})
			return err
		}, codes.OK},
		{"a chat-only key cannot create keys", &memberChat, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "m", Scopes: []string{"chat:write"}})
			return err
		}, codes.PermissionDenied},
		{"member cannot mint scopes its key lacks", &member, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "m", Scopes: []string{"ingest:write"}})
			return err
		}, codes.PermissionDenied},
		{"member cannot mint admin", &member, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "m", Scopes: []string{"admin"}})
			return err
		}, codes.PermissionDenied},
		{"member cannot grant admin", &member, func(ctx context.Context) error {
			_, err := mc.CreateMember(ctx, &authv1.CreateMemberRequest{Subject: "x@acme", Role: authv1.Role_ROLE_ADMIN})
			return err
		}, codes.PermissionDenied},
		{"member cannot create keys for others", &member, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "m", Subject: "viewer@acme", Scopes: []string{"usage:read"}})
			return err
		}, codes.PermissionDenied},
		{"member does not see others' keys", &member, func(ctx context.Context) error {
			_, err := kc.GetKey(ctx, &authv1.GetKeyRequest{KeyId: admin[3:15]})
			return err
		}, codes.NotFound},
		{"admin grants admin", &admin, func(ctx context.Context) error {
			_, err := mc.CreateMember(ctx, &authv1.CreateMemberRequest{Subject: "admin2@acme", Role: authv1.Role_ROLE_ADMIN})
			return err
		}, codes.OK},
		{"admin cannot grant owner", &admin, func(ctx context.Context) error {
			_, err := mc.CreateMember(ctx, &authv1.CreateMemberRequest{Subject: "owner3@acme", Role: authv1.Role_ROLE_OWNER})
			return err
		}, codes.PermissionDenied},
		{"key for a viewer cannot exceed the viewer role", &admin, func(ctx context.Context) error {
			_, err := kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: "v", Subject: "viewer@acme", Scopes: []string{"chat:write"}})
			return err
		}, codes.PermissionDenied},
		{"owner with a chat-only key cannot manage members", &ownerChatOnly, func(ctx context.Context) error {
			_, err := mc.CreateMember(ctx, &authv1.CreateMemberRequest{Subject: "y@acme", Role: authv1.Role_ROLE_MEMBER})
			return err
		}, codes.PermissionDenied},
		{"tenant owner cannot create tenants", &owner, func(ctx context.Context) error {
			_, err := tc.CreateTenant(ctx, &authv1.CreateTenantRequest{Name: "evil"})
			return err
		}, codes.PermissionDenied},
		{"viewer cannot read audit", &viewer, func(ctx context.Context) error {
			_, err := authv1.NewAuditServiceClient(e.edge).ListAuditEvents(ctx, &authv1.ListAuditEventsRequest{})
			return err
		}, codes.PermissionDenied},
		{"last owner cannot be demoted", &owner, func(ctx context.Context) error {
			ms, err := mc.ListMembers(ctx, &authv1.ListMembersRequest{})
			if err != nil {
				return err
			}
			for _, m := range ms.GetMembers() {
				if m.GetSubject() == "owner2@acme" {
					if _, err := mc.DeleteMember(ctx, &authv1.DeleteMemberRequest{MemberId: m.GetMemberId()}); err != nil {
						return err
					}
				}
			}
			for _, m := range ms.GetMembers() {
				if m.GetSubject() == "owner@acme" {
					_, err = mc.UpdateMember(ctx, &authv1.UpdateMemberRequest{MemberId: m.GetMemberId(), Role: authv1.Role_ROLE_ADMIN})
				}
			}
			return err
		}, codes.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(e.as(t, *tt.key))
			require.Equal(t, tt.want, code(err), "err: %v", err)
		})
	}
	t.Run("demotion narrows the scopes of existing keys", func(t *testing.T) {
		resp, err := e.verify(t.Context(), member)
		require.NoError(t, err)
		require.Equal(t, []string{"chat:write", "keys:write"}, resp.GetPrincipal().GetScopes())
		ms, err := mc.ListMembers(e.as(t, owner), &authv1.ListMembersRequest{})
		require.NoError(t, err)
		for _, m := range ms.GetMembers() {
			if m.GetSubject() == "member@acme" {
				_, err := mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: m.GetMemberId(), Role: authv1.Role_ROLE_VIEWER})
				require.NoError(t, err)
			}
		}
		resp, err = e.verify(t.Context(), member)
		require.NoError(t, err)
		require.Empty(t, resp.GetPrincipal().GetScopes())
		require.Equal(t, []string{"viewer"}, resp.GetPrincipal().GetRoles())
	})
}

func TestBadInputNamesTheField(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	kc := authv1.NewKeyServiceClient(e.edge)
	tests := []struct {
		name  string
		req   *authv1.CreateKeyRequest
		field string
		msg   string // the whole message, when set
	}{
		{"no name", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}}, "name", ""},
		{"long name", &authv1.CreateKeyRequest{Name: strings.Repeat("n", 129), Scopes: []string{"chat:write"}}, "name", ""},
		{"unknown scope", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write", "root"}}, "scopes[1]", ""},
		{"no scopes", &authv1.CreateKeyRequest{Name: "n"}, "scopes", ""},
		{"negative ttl", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write"}, TtlSeconds: -1}, "ttl_seconds", ""},
		{"ttl over max", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write"}, TtlSeconds: 400 * 86400}, "ttl_seconds",
			"ttl_seconds: must be at most 31536000 (365 days)"},
		{"ttl far over max", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write"}, TtlSeconds: math.MaxInt64}, "ttl_seconds",
			"ttl_seconds: must be at most 31536000 (365 days)"},
		{"endpoint not a path", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write"}, AllowedEndpoints: []string{"v1/chat"}}, "allowed_endpoints[0]", ""},
		{"negative limit", &authv1.CreateKeyRequest{Name: "n", Scopes: []string{"chat:write"}, Limits: &authv1.Limits{RequestsPerMinute: -5}}, "limits.requests_per_minute", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kc.CreateKey(e.as(t, owner), tt.req)
			require.Equal(t, codes.InvalidArgument, code(err), "err: %v", err)
			require.True(t, strings.HasPrefix(status.Convert(err).Message(), tt.field+":"), status.Convert(err).Message())
			if tt.msg != "" {
				require.Equal(t, tt.msg, status.Convert(err).Message())
			}
		})
	}
	for _, overlap := range []int64{400 * 86400, math.MaxInt64} {
		_, err := kc.RotateKey(e.as(t, owner), &authv1.RotateKeyRequest{KeyId: "k_any", OverlapSeconds: overlap})
		require.Equal(t, codes.InvalidArgument, code(err), "err: %v", err)
		require.Equal(t, "overlap_seconds: must be at most 31536000 (365 days)", status.Convert(err).Message())
	}
	ks, err := kc.ListKeys(e.as(t, owner), &authv1.ListKeysRequest{})
	require.NoError(t, err)
	require.Len(t, ks.GetKeys(), 1, "nothing half-created: only the owner key exists")
	_, err = kc.ListKeys(e.as(t, owner), &authv1.ListKeysRequest{PageSize: 501})
	require.Equal(t, codes.InvalidArgument, code(err))
	_, err = kc.GetKey(e.as(t, owner), &authv1.GetKeyRequest{KeyId: "../etc"})
	require.Equal(t, codes.InvalidArgument, code(err))
}

func TestAssertionsAreChecked(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	good, err := e.verify(t.Context(), owner)
	require.NoError(t, err)
	parts := strings.Split(good.GetAssertion(), ".")
	forgedSig := strings.Join(append(parts[:3:3], strings.Repeat("A", len(parts[3]))), ".")
	wrongKid := strings.Join([]string{parts[0], "sk-unknown", parts[2], parts[3]}, ".")
	tests := map[string]string{
		"missing":          "",
		"garbage":          "not-a-token",
		"forged signature": forgedSig,
		"wrong kid":        wrongKid,
	}
	kc := authv1.NewKeyServiceClient(e.edge)
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if tok != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, principal.MetadataKey, tok)
			}
			_, err := kc.ListKeys(ctx, &authv1.ListKeysRequest{})
			require.Equal(t, codes.Unauthenticated, code(err), "err: %v", err)
		})
	}
	t.Run("valid", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, good.GetAssertion())
		_, err := kc.ListKeys(ctx, &authv1.ListKeysRequest{})
		require.NoError(t, err)
	})
	t.Run("published keys verify it", func(t *testing.T) {
		sk, err := authv1.NewAuthServiceClient(e.keyvault).GetSigningKeys(t.Context(), &authv1.GetSigningKeysRequest{})
		require.NoError(t, err)
		remote := principal.NewRemoteKeys(authv1.NewAuthServiceClient(e.keyvault), slog.New(slog.DiscardHandler))
		require.NoError(t, remote.Refresh(t.Context()))
		p, err := principal.NewVerifier(remote).Verify(good.GetAssertion())
		require.NoError(t, err)
		require.Equal(t, good.GetPrincipal().GetTenantId(), p.GetTenantId())
		require.NotEmpty(t, sk.GetKeys())
	})
	t.Run("signing key rotation keeps old assertions valid", func(t *testing.T) {
		require.NoError(t, e.sm.Rotate(t.Context()))
		ctx := metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, good.GetAssertion())
		_, err := kc.ListKeys(ctx, &authv1.ListKeysRequest{})
		require.NoError(t, err)
		fresh, err := e.verify(t.Context(), owner)
		require.NoError(t, err)
		require.NotEqual(t, parts[1], strings.Split(fresh.GetAssertion(), ".")[1], "new assertions carry the new kid")
	})
}

func TestMTLSAllowList(t *testing.T) {
	e := newEnv(t)
	_, err := authv1.NewAuthServiceClient(e.cli).VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: e.platformKey, Audiences: []string{"auth"}})
	require.Equal(t, codes.PermissionDenied, code(err), "only the edge and keyvault (API key rotation) verify keys")
	_, err = authv1.NewAuthServiceClient(e.keyvault).VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: e.platformKey, Audiences: []string{"auth"}})
	require.NoError(t, err, "keyvault verifies the keys it rotates")
	_, err = authv1.NewAuthServiceClient(e.edge).Bootstrap(t.Context(), &authv1.BootstrapRequest{TenantName: "x", OwnerSubject: "y"})
	require.Equal(t, codes.PermissionDenied, code(err), "only the CLI bootstraps")
	_, err = authv1.NewAuthServiceClient(e.cli).Bootstrap(t.Context(), &authv1.BootstrapRequest{TenantName: "x", OwnerSubject: "y"})
	require.Equal(t, codes.AlreadyExists, code(err), "bootstrap works once")
	_, err = authv1.NewKeyServiceClient(e.keyvault).ListKeys(e.as(t, e.platformKey), &authv1.ListKeysRequest{})
	require.Equal(t, codes.PermissionDenied, code(err), "management is for the edge")
}

func TestWhoAmI(t *testing.T) {
	e := newEnv(t)
	resp, err := authv1.NewAuthServiceClient(e.edge).WhoAmI(e.as(t, e.platformKey), &authv1.WhoAmIRequest{})
	require.NoError(t, err)
	require.Equal(t, e.platformTenant, resp.GetTenantId())
	require.Equal(t, e.platformKey[3:15], resp.GetKeyId())
	require.Equal(t, []string{"owner"}, resp.GetRoles())
}

func TestAuditChainTamperAndNoSecrets(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	for i := range 3 {
		e.member(t, owner, "m"+string(rune('a'+i))+"@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	}
	_, _ = e.verify(t.Context(), owner[:len(owner)-8]+"AAAAAAAA") // an auth failure, audited
	ac := authv1.NewAuditServiceClient(e.edge)
	res, err := ac.VerifyAuditChain(e.as(t, owner), &authv1.VerifyAuditChainRequest{})
	require.NoError(t, err)
	require.True(t, res.GetOk())
	require.Greater(t, res.GetChecked(), int64(6))

	list, err := ac.ListAuditEvents(e.as(t, owner), &authv1.ListAuditEventsRequest{PageSize: 3})
	require.NoError(t, err)
	require.Len(t, list.GetEvents(), 3)
	require.NotEmpty(t, list.GetNextPageToken())
	require.Equal(t, "req-test", list.GetEvents()[0].GetRequestId())
	require.Equal(t, "198.51.100.1", list.GetEvents()[0].GetSourceIp())

	// Tamper with one row directly in the SQLite file.
	raw, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`UPDATE audit_log SET actor = 'someone-else' WHERE tenant_id = ? AND seq = 3`, tid)
	require.NoError(t, err)
	res, err = ac.VerifyAuditChain(e.as(t, owner), &authv1.VerifyAuditChainRequest{})
	require.NoError(t, err)
	require.False(t, res.GetOk())
	require.EqualValues(t, 3, res.GetFirstBadSeq())
	require.EqualValues(t, 2, res.GetChecked())

	// Deleting a row is detected too.
	_, err = raw.Exec(`DELETE FROM audit_log WHERE tenant_id = ? AND seq = 2`, tid)
	require.NoError(t, err)
	res, err = ac.VerifyAuditChain(e.as(t, owner), &authv1.VerifyAuditChainRequest{})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.GetFirstBadSeq())

	// No plaintext key (nor its secret part) anywhere in the data dir.
	require.NoError(t, e.svc.FlushLastUsed(t.Context()))
	_, err = raw.Exec(`PRAGMA wal_checkpoint(FULL)`)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(e.plaintexts), 5)
	err = atrest.Files(e.dataDir, func(path string, b []byte) {
		for _, pt := range e.plaintexts {
			require.False(t, bytes.Contains(b, []byte(pt)), "%s holds a plaintext key", path)
			require.False(t, bytes.Contains(b, []byte(pt[15:58])), "%s holds a key secret", path)
		}
	})
	require.NoError(t, err)
}

func TestTenantLifecycleAndEvents(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rev := e.watchRevocations(ctx, t, 0)
	ten := e.watchTenantEvents(ctx, t)

	tc := authv1.NewTenantServiceClient(e.edge)
	pctx := e.as(t, e.platformKey)
	_, err := tc.SuspendTenant(pctx, &authv1.SuspendTenantRequest{TenantId: tid})
	require.NoError(t, err)
	ev, err := rev.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED, ev.GetKind())
	require.Equal(t, tid, ev.GetTenantId())
	tev, err := ten.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED, tev.GetKind())

	_, err = tc.SuspendTenant(pctx, &authv1.SuspendTenantRequest{TenantId: tid})
	require.Equal(t, codes.FailedPrecondition, code(err))
	_, err = tc.SuspendTenant(pctx, &authv1.SuspendTenantRequest{TenantId: e.platformTenant})
	require.Equal(t, codes.FailedPrecondition, code(err), "the platform tenant cannot be suspended")
	_, err = tc.ResumeTenant(pctx, &authv1.ResumeTenantRequest{TenantId: tid})
	require.NoError(t, err)
	tev, err = ten.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_RESUMED, tev.GetKind())

	// Revoking a key reaches the watcher (not the tenant's only owner key:
	// that would strand the tenant and is refused).
	spare, err := authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, owner), &authv1.CreateKeyRequest{Name: "spare", Scopes: []string{"chat:write"}})
	require.NoError(t, err)
	keyID := spare.GetKey().GetKeyId()
	_, err = authv1.NewKeyServiceClient(e.edge).RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: keyID})
	require.NoError(t, err)
	ev, err = rev.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, ev.GetKind())
	require.Equal(t, keyID, ev.GetKeyId())
	lastCursor := ev.GetCursor()

	del, err := tc.DeleteTenant(pctx, &authv1.DeleteTenantRequest{TenantId: tid})
	require.NoError(t, err)
	require.Equal(t, authv1.TenantState_TENANT_STATE_DELETED, del.GetTenant().GetState())
	tev, err = ten.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_DELETED, tev.GetKind())
	t.Run("resume from a cursor replays what was missed", func(t *testing.T) {
		s := e.watchRevocations(t.Context(), t, lastCursor)
		ev, err := s.Recv()
		require.NoError(t, err)
		require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED, ev.GetKind(), "the delete")
		require.Greater(t, ev.GetCursor(), lastCursor)
	})
	t.Run("after the grace period the tenant is purged", func(t *testing.T) {
		e.clock.Advance(8 * 24 * time.Hour)
		_, err = e.svc.Sweep(t.Context())
		require.NoError(t, err)
		tev, err = ten.Recv()
		require.NoError(t, err)
		require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, tev.GetKind())
		_, err = tc.GetTenant(pctx, &authv1.GetTenantRequest{TenantId: tid})
		require.Equal(t, codes.NotFound, code(err))

	})
	t.Run("a cursor older than the retained log asks for a resync", func(t *testing.T) {
		s := e.watchRevocations(t.Context(), t, 1)
		ev, err := s.Recv()
		require.NoError(t, err)
		require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_RESYNC, ev.GetKind())
	})
	t.Run("a cursor from the future asks for a resync", func(t *testing.T) {
		s := e.watchRevocations(t.Context(), t, 1<<40)
		ev, err := s.Recv()
		require.NoError(t, err)
		require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_RESYNC, ev.GetKind())
	})
}
