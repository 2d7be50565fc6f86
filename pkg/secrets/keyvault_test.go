package secrets_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
)

func TestKeyvaultSourceOverMTLS(t *testing.T) {
	f := grpctest.NewFixture(t, "keyvault", "slackadapter")
	signer := f.Signer
	kv := keyvaulttest.Start(t, f.Dir, keyvaulttest.Options{Keys: f.Keys(), Caller: "slackadapter"})
	for tenant, v := range map[string]string{"ta": "xoxb-a", "tb": "xoxb-b", "svc": "xoxb-svc"} {
		kv.Put(tenant, "/dev/slackadapter/token/bot", v)
	}
	kv.PutBinary("svc", "/dev/slackadapter/bin/y", []byte{9})
	kv.Fail("/dev/slackadapter/down/y", codes.Unavailable)

	conn := f.Dial(t, "slackadapter", kv.Addr, "keyvault")

	// Forwarding: the incoming assertion (as a backend receives it) goes out
	// unchanged, so keyvault answers for the caller's tenant.
	incoming := func(tenant string) context.Context {
		tok, err := signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "u"}, time.Time{})
		require.NoError(t, err)
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(principal.MetadataKey, tok))
		return principal.NewContext(ctx, &authv1.Principal{TenantId: tenant})
	}
	fwd := secrets.NewKeyvault(conn, secrets.KeyvaultOptions{})
	cache, err := secrets.NewCache(fwd, secrets.CacheOptions{Attempts: 1})
	require.NoError(t, err)
	for _, tenant := range []string{"ta", "tb", "ta"} {
		v, err := cache.GetSecretValue(incoming(tenant), "/dev/slackadapter/token/bot", "")
		require.NoError(t, err)
		require.Equal(t, "xoxb-"+tenant[1:], v.String)
	}
	require.Equal(t, 2, cache.Len(), "one entry per tenant")

	// A service principal.
	svc := secrets.NewKeyvault(conn, secrets.KeyvaultOptions{Assertion: func(context.Context) (string, error) {
		return signer.Sign(&authv1.Principal{TenantId: "svc", Subject: "slackadapter"}, time.Time{})
	}})
	v, err := svc.GetSecretValue(context.Background(), "/dev/slackadapter/token/bot", "")
	require.NoError(t, err)
	require.Equal(t, "xoxb-svc", v.String)
	v, err = svc.GetSecretValue(context.Background(), "/dev/slackadapter/bin/y", "")
	require.NoError(t, err)
	require.Equal(t, []byte{9}, v.Binary)

	errs := map[string]error{
		"/dev/slackadapter/none/y": secrets.ErrNotFound, "/dev/denied/x/y": secrets.ErrDenied, "/dev/bad": secrets.ErrInvalid,
	}
	for name, want := range errs {
		_, err := svc.GetSecretValue(context.Background(), name, "")
		require.ErrorIs(t, err, want, name)
	}
	_, err = svc.GetSecretValue(context.Background(), "/dev/slackadapter/down/y", "")
	require.Error(t, err)
	require.False(t, secrets.IsPermanent(err))
	// No principal at all: keyvault refuses.
	_, err = fwd.GetSecretValue(context.Background(), "/dev/slackadapter/token/bot", "")
	require.ErrorIs(t, err, secrets.ErrDenied)
}
