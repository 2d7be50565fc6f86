package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// Reproductions of issue 10, items 1-3: each was an escalation on main.

// ownKey creates a key for the subject of key with scopes, acting as key.
func (e *env) ownKey(t *testing.T, key string, req *authv1.CreateKeyRequest) string {
	t.Helper()
	resp, err := authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, key), req)
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, resp.GetApiKey())
	return resp.GetApiKey()
}

func TestNarrowKeyCannotTakeOverItsSubjectsAdminKey(t *testing.T) {
	forEachStore(t, narrowKeyCannotTakeOver)
}

func narrowKeyCannotTakeOver(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	ownerKeyID := owner[3:15]
	chat := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "chat", Scopes: []string{"chat:write"}})
	kc := authv1.NewKeyServiceClient(e.edge)

	// The narrow key still sees its subject's keys (metadata only).
	ls, err := kc.ListKeys(e.as(t, chat), &authv1.ListKeysRequest{})
	require.NoError(t, err)
	var ids []string
	for _, k := range ls.GetKeys() {
		ids = append(ids, k.GetKeyId())
	}
	require.Contains(t, ids, ownerKeyID)

	_, err = kc.RotateKey(e.as(t, chat), &authv1.RotateKeyRequest{KeyId: ownerKeyID})
	require.Equal(t, codes.PermissionDenied, code(err), "rotate: %v", err)
	_, err = kc.RevokeKey(e.as(t, chat), &authv1.RevokeKeyRequest{KeyId: ownerKeyID})
	require.Equal(t, codes.PermissionDenied, code(err), "revoke: %v", err)

	// keys:write alone is not enough: the admin key's scope admin is not
	// covered by a key without it.
	kw := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "keys", Scopes: []string{"chat:write", "keys:write"}})
	_, err = kc.RotateKey(e.as(t, kw), &authv1.RotateKeyRequest{KeyId: ownerKeyID})
	require.Equal(t, codes.PermissionDenied, code(err))
	require.Contains(t, status.Convert(err).Message(), "scopes[0]")
	// ...but it may manage the narrower key it covers.
	_, err = kc.RevokeKey(e.as(t, kw), &authv1.RevokeKeyRequest{KeyId: chat[3:15]})
	require.NoError(t, err)

	// The owner key still works and is what it was.
	resp, err := e.verify(t.Context(), owner)
	require.NoError(t, err)
	require.Equal(t, []string{"admin"}, resp.GetPrincipal().GetScopes())
}

func TestBootstrapSubjectsNarrowKeyDoesNotReachPlatformAdmin(t *testing.T) {
	e := newEnv(t)
	chat := e.ownKey(t, e.platformKey, &authv1.CreateKeyRequest{Name: "chat", Scopes: []string{"chat:write"}})
	kc := authv1.NewKeyServiceClient(e.edge)
	_, err := kc.RotateKey(e.as(t, chat), &authv1.RotateKeyRequest{KeyId: e.platformKey[3:15]})
	require.Equal(t, codes.PermissionDenied, code(err))
	_, err = authv1.NewAuditServiceClient(e.edge).ListAuditEvents(e.as(t, chat), &authv1.ListAuditEventsRequest{Platform: true})
	require.Equal(t, codes.PermissionDenied, code(err))
}

func TestKeyCanRotateAndRevokeItself(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	m := e.member(t, owner, "svc@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	// Keyvault's rampart-api-key rotation acts as the key it rotates (ADR 0009).
	kc := authv1.NewKeyServiceClient(e.keyvault)
	r, err := kc.RotateKey(e.as(t, m), &authv1.RotateKeyRequest{KeyId: m[3:15]})
	require.NoError(t, err)
	require.Equal(t, []string{"chat:write"}, r.GetKey().GetScopes())
	// Crash recovery: the predecessor, in its overlap, rotates its replacement.
	_, err = kc.RotateKey(e.as(t, m), &authv1.RotateKeyRequest{KeyId: r.GetKey().GetKeyId()})
	require.NoError(t, err)
	_, err = authv1.NewKeyServiceClient(e.edge).RevokeKey(e.as(t, m), &authv1.RevokeKeyRequest{KeyId: m[3:15]})
	require.NoError(t, err)
}

// TestRotatingARotatedKeyNamesItsReplacement: the old id again is refused
// with the id to rotate instead.
func TestRotatingARotatedKeyNamesItsReplacement(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	m := e.member(t, owner, "svc@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	kc := authv1.NewKeyServiceClient(e.edge)
	r, err := kc.RotateKey(e.as(t, owner), &authv1.RotateKeyRequest{KeyId: m[3:15]})
	require.NoError(t, err)
	_, err = kc.RotateKey(e.as(t, owner), &authv1.RotateKeyRequest{KeyId: m[3:15]})
	require.Equal(t, codes.FailedPrecondition, code(err))
	require.Contains(t, status.Convert(err).Message(), "rotate its replacement "+r.GetKey().GetKeyId())
}

func TestLastOwnerKeyCannotBeRevoked(t *testing.T) { forEachStore(t, lastOwnerKeyCannotBeRevoked) }

func lastOwnerKeyCannotBeRevoked(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	kc, mc := authv1.NewKeyServiceClient(e.edge), authv1.NewMemberServiceClient(e.edge)
	_, err := kc.RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: owner[3:15]})
	require.Equal(t, codes.FailedPrecondition, code(err))
	require.Contains(t, status.Convert(err).Message(), "recover-owner")

	// A second owner without an owner key does not make the first removable.
	_, err = mc.CreateMember(e.as(t, owner), &authv1.CreateMemberRequest{Subject: "owner2@acme", Role: authv1.Role_ROLE_OWNER})
	require.NoError(t, err)
	ms, err := mc.ListMembers(e.as(t, owner), &authv1.ListMembersRequest{})
	require.NoError(t, err)
	var ownerID string
	for _, m := range ms.GetMembers() {
		if m.GetSubject() == "owner@acme" {
			ownerID = m.GetMemberId()
		}
	}
	_, err = mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: ownerID, Role: authv1.Role_ROLE_ADMIN})
	require.Equal(t, codes.FailedPrecondition, code(err), "demotion would strand the tenant: %v", err)

	// Once the second owner holds an owner key, the first key may go.
	second := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "o2", Subject: "owner2@acme", Scopes: []string{"admin"}})
	_, err = kc.RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: owner[3:15]})
	require.NoError(t, err)
	_, err = kc.RevokeKey(e.as(t, second), &authv1.RevokeKeyRequest{KeyId: second[3:15]})
	require.Equal(t, codes.FailedPrecondition, code(err))
}

func TestAdminCannotBecomeOwner(t *testing.T) { forEachStore(t, adminCannotBecomeOwner) }

func adminCannotBecomeOwner(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	kc := authv1.NewKeyServiceClient(e.edge)
	_, err := kc.CreateKey(e.as(t, admin), &authv1.CreateKeyRequest{Name: "mine now", Subject: "owner@acme", Scopes: []string{"admin"}})
	require.Equal(t, codes.PermissionDenied, code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "role")
	_, err = kc.CreateKey(e.as(t, admin), &authv1.CreateKeyRequest{Name: "mine now", Subject: "owner@acme", Scopes: []string{"chat:write"}})
	require.Equal(t, codes.PermissionDenied, code(err), "any key of an owner is out of an admin's reach")
	// The owner's key is not even visible to the admin, nor rotatable.
	_, err = kc.GetKey(e.as(t, admin), &authv1.GetKeyRequest{KeyId: owner[3:15]})
	require.Equal(t, codes.NotFound, code(err))
	_, err = kc.RotateKey(e.as(t, admin), &authv1.RotateKeyRequest{KeyId: owner[3:15]})
	require.Equal(t, codes.NotFound, code(err))
	// Keys of peers and below stay manageable.
	_, err = kc.CreateKey(e.as(t, admin), &authv1.CreateKeyRequest{Name: "peer", Subject: "admin@acme", Scopes: []string{"chat:write"}})
	require.NoError(t, err)
}

func TestKeyCannotWidenItsCreatorsLimits(t *testing.T) { forEachStore(t, keyCannotWidenLimits) }

func keyCannotWidenLimits(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	ctx := e.as(t, owner)
	_, err := authv1.NewMemberServiceClient(e.edge).CreateMember(ctx, &authv1.CreateMemberRequest{Subject: "dev@acme", Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)
	limited := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "dev", Subject: "dev@acme", Scopes: []string{"chat:write", "keys:write"},
		AllowedModels: []string{"echo"}, Limits: &authv1.Limits{MonthlyTokenBudget: 1000, RequestsPerMinute: 10}, TtlSeconds: 7 * 86400})
	kc := authv1.NewKeyServiceClient(e.edge)
	tests := []struct {
		name  string
		req   *authv1.CreateKeyRequest
		field string
	}{
		{"no model list", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, Limits: &authv1.Limits{MonthlyTokenBudget: 1000, RequestsPerMinute: 10}}, "allowed_models"},
		{"another model", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, AllowedModels: []string{"gpt"}, Limits: &authv1.Limits{MonthlyTokenBudget: 1000, RequestsPerMinute: 10}}, "allowed_models[0]"},
		{"no budget", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, AllowedModels: []string{"echo"}, Limits: &authv1.Limits{RequestsPerMinute: 10}}, "limits.monthly_token_budget"},
		{"bigger budget", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, AllowedModels: []string{"echo"}, Limits: &authv1.Limits{MonthlyTokenBudget: 1001, RequestsPerMinute: 10}}, "limits.monthly_token_budget"},
		{"more requests", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, AllowedModels: []string{"echo"}, Limits: &authv1.Limits{MonthlyTokenBudget: 10, RequestsPerMinute: 11}}, "limits.requests_per_minute"},
		{"longer life", &authv1.CreateKeyRequest{Scopes: []string{"chat:write"}, AllowedModels: []string{"echo"}, Limits: &authv1.Limits{MonthlyTokenBudget: 10, RequestsPerMinute: 10}, TtlSeconds: 8 * 86400}, "expire_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Name = "escape"
			_, err := kc.CreateKey(e.as(t, limited), tt.req)
			require.Equal(t, codes.PermissionDenied, code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.field+":")
		})
	}
	t.Run("a narrower key is fine and never outlives its creator", func(t *testing.T) {
		resp, err := kc.CreateKey(e.as(t, limited), &authv1.CreateKeyRequest{Name: "narrow", Scopes: []string{"chat:write"},
			AllowedModels: []string{"echo"}, Limits: &authv1.Limits{MonthlyTokenBudget: 500, RequestsPerMinute: 10}})
		require.NoError(t, err)
		require.False(t, resp.GetKey().GetExpireTime().AsTime().After(e.clock.Now().Add(7*24*time.Hour)))
	})
}

func TestNamesRejectInvisibleCharacters(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	mc, kc := authv1.NewMemberServiceClient(e.edge), authv1.NewKeyServiceClient(e.edge)
	for name, s := range map[string]string{
		"right-to-left override": "admin\u202e@acme",
		"right-to-left isolate":  "\u2067evil@acme",
		"zero-width space":       "ad\u200bmin@acme",
		"zero-width joiner":      "ad\u200dmin@acme",
		"byte order mark":        "\ufeffadmin@acme",
		"soft hyphen":            "ad\u00admin@acme",
		"tag character":          "admin@acme\U000E0041",
		"hangul filler":          "admin\u3164@acme",
		"no-break space":         "ad\u00a0min@acme",
		"variation selector":     "admin\ufe0f@acme",
	} {
		t.Run(name, func(t *testing.T) {
			ctx := e.as(t, owner)
			_, err := mc.CreateMember(ctx, &authv1.CreateMemberRequest{Subject: s, Role: authv1.Role_ROLE_MEMBER})
			requireField(t, err, "subject")
			_, err = kc.CreateKey(ctx, &authv1.CreateKeyRequest{Name: s, Scopes: []string{"chat:write"}})
			requireField(t, err, "name")
		})
	}
	_, err := mc.CreateMember(e.as(t, owner), &authv1.CreateMemberRequest{Subject: "Zoë Ñandú 山田@acme", Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err, "ordinary non-ASCII letters stay valid")
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.Equal(t, codes.InvalidArgument, code(err), "%v", err)
	require.True(t, strings.HasPrefix(status.Convert(err).Message(), field+":"), "%v", err)
}
