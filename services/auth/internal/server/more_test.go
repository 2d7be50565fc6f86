package server_test

import (
	"context"
	"hash/crc32"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
)

func TestExpiryReachesWatchers(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	k, err := authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, owner), &authv1.CreateKeyRequest{Name: "short", Scopes: []string{"chat:write"}, TtlSeconds: 60})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, k.GetApiKey())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := e.watchRevocations(ctx, t, 0)
	e.clock.Advance(time.Minute)
	n, err := e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ev, err := s.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_KEY_EXPIRED, ev.GetKind())
	require.Equal(t, k.GetKey().GetKeyId(), ev.GetKeyId())
	n, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "expiry is emitted once")
}

func TestAuthFailuresAreAuditedRateLimited(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	// A well-formed key id of the tenant with a wrong secret.
	wrong := forge(t, owner[3:15])
	for range 25 {
		_, err := e.verify(t.Context(), wrong)
		require.Equal(t, codes.Unauthenticated, code(err))
	}
	ac := authv1.NewAuditServiceClient(e.edge)
	var failures []*authv1.AuditEvent
	require.Eventually(t, func() bool {
		list, err := ac.ListAuditEvents(e.as(t, owner), &authv1.ListAuditEventsRequest{PageSize: 500})
		require.NoError(t, err)
		failures = failures[:0]
		for _, ev := range list.GetEvents() {
			if ev.GetAction() == "auth.failure" {
				failures = append(failures, ev)
			}
		}
		return len(failures) == 10
	}, 5*time.Second, 10*time.Millisecond, "10 per source per minute are kept")
	f := failures[0]
	require.Equal(t, tid, f.GetTenantId())
	require.Equal(t, "wrong secret", f.GetResult())
	require.Equal(t, "203.0.113.7", f.GetSourceIp())
	require.Equal(t, "key:"+owner[3:15], f.GetTarget())
	require.NotContains(t, f.String(), wrong[15:58], "never the presented secret")
	res, err := ac.VerifyAuditChain(e.as(t, owner), &authv1.VerifyAuditChainRequest{})
	require.NoError(t, err)
	require.True(t, res.GetOk())

	t.Run("unknown keys go to the platform chain", func(t *testing.T) {
		_, err := authv1.NewAuthServiceClient(e.edge).VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: forge(t, "ZZZZZZZZZZZZ"), SourceIp: "192.0.2.9", Audiences: []string{"auth"}})
		require.Equal(t, codes.Unauthenticated, code(err))
		require.Eventually(t, func() bool {
			list, err := ac.ListAuditEvents(e.as(t, e.platformKey), &authv1.ListAuditEventsRequest{Platform: true})
			require.NoError(t, err)
			return len(list.GetEvents()) > 0 && list.GetEvents()[0].GetResult() == "unknown key"
		}, 5*time.Second, 10*time.Millisecond)
		_, err = ac.ListAuditEvents(e.as(t, owner), &authv1.ListAuditEventsRequest{Platform: true})
		require.Equal(t, codes.PermissionDenied, code(err))
	})
}

// forge builds a well-formed key (valid checksum) for id with a random
// secret, as an attacker who knows a key id could.
func forge(t testing.TB, id string) string {
	t.Helper()
	k, err := apikey.Generate()
	require.NoError(t, err)
	head := "rk_" + id + k.Plaintext()[15:58]
	n := crc32.ChecksumIEEE([]byte(head))
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := make([]byte, apikey.ChecksumLen)
	for i := apikey.ChecksumLen - 1; i >= 0; i-- {
		sum[i] = alphabet[n%62]
		n /= 62
	}
	key := head + string(sum)
	_, err = apikey.Parse(key)
	require.NoError(t, err)
	return key
}

func FuzzVerifyKey(f *testing.F) {
	e := newEnv(f)
	f.Add(e.platformKey)
	f.Add("rk_")
	f.Add(strings.Repeat("A", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		if !utf8.ValidString(key) {
			return // proto strings must be UTF-8: the client refuses to send it
		}
		resp, err := e.verify(context.Background(), key)
		if key == e.platformKey {
			require.NoError(t, err)
			return
		}
		require.Nil(t, resp)
		require.Equal(t, codes.Unauthenticated, code(err), "err: %v", err)
	})
}

func TestLastUsedIsBatched(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	kc := authv1.NewKeyServiceClient(e.edge)
	k, err := kc.GetKey(e.as(t, owner), &authv1.GetKeyRequest{KeyId: owner[3:15]})
	require.NoError(t, err)
	require.Nil(t, k.GetKey().GetLastUsedTime(), "not written on the verify path")
	require.NoError(t, e.svc.FlushLastUsed(t.Context()))
	k, err = kc.GetKey(e.as(t, owner), &authv1.GetKeyRequest{KeyId: owner[3:15]})
	require.NoError(t, err)
	require.Equal(t, e.clock.Now().Unix(), k.GetKey().GetLastUsedTime().AsTime().Unix())
}
