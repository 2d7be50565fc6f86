package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
)

func apiKeyFunction(jsonKey string) *keyvaultv1.RotationFunction {
	return &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RAMPART_API_KEY,
		ApiKey: &keyvaultv1.ApiKeyRotation{JsonKey: jsonKey, OverlapSeconds: 3600}}
}

func keyID(t *testing.T, plaintext string) string {
	t.Helper()
	k, err := apikey.Parse(plaintext)
	require.NoError(t, err)
	return k.ID
}

// TestRampartAPIKeyRotation rotates API keys held in secrets through the
// auth stand-in over mTLS (real VerifyKey/GetKey/RotateKey, real key
// checks and principal assertions).
func TestRampartAPIKeyRotation(t *testing.T) {
	h := newHarness(t, harnessOpts{auth: true})
	c, ctx := h.admin(t, "t1")
	const secret = "/dev/batch/api-key/batch"

	t.Run("rotates, tests and promotes the new key", func(t *testing.T) {
		old := h.auth.IssueKey(t, "t1", "svc-batch")
		_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: secret, SecretString: old})
		require.NoError(t, err)
		r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: secret, ClientRequestToken: tokA,
			RotationFunction: apiKeyFunction(""), RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "rate(30 days)"}})
		require.NoError(t, err)
		require.Empty(t, r.GetRotationError())

		cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: secret})
		require.NoError(t, err)
		require.Equal(t, tokA, cur.GetVersionId())
		require.NotEqual(t, old, cur.GetSecretString())
		tenant, newID, ok := h.auth.Verify(cur.GetSecretString())
		require.True(t, ok, "AWSCURRENT holds a key auth verifies")
		require.Equal(t, "t1", tenant)
		state, replacedBy := h.auth.State(keyID(t, old))
		require.Equal(t, authv1.KeyState_KEY_STATE_ROTATING, state, "the old key keeps working for the overlap")
		require.Equal(t, newID, replacedBy)
		prev, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: secret, VersionStage: "AWSPREVIOUS"})
		require.NoError(t, err)
		require.Equal(t, old, prev.GetSecretString())

		d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: secret})
		require.NoError(t, err)
		require.Equal(t, keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RAMPART_API_KEY, d.GetSecret().GetRotationFunction().GetType())
		require.Equal(t, int64(3600), d.GetSecret().GetRotationFunction().GetApiKey().GetOverlapSeconds())
	})

	t.Run("a lost RotateKey answer is recovered", func(t *testing.T) {
		cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: secret})
		require.NoError(t, err)
		// The current key was rotated and the new plaintext never stored.
		h.auth.Rotate(t, cur.GetSecretString())
		_, orphan := h.auth.State(keyID(t, cur.GetSecretString()))
		r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: secret, ClientRequestToken: tokB})
		require.NoError(t, err)
		require.Empty(t, r.GetRotationError())
		now, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: secret})
		require.NoError(t, err)
		_, newID, ok := h.auth.Verify(now.GetSecretString())
		require.True(t, ok)
		state, replacedBy := h.auth.State(orphan)
		require.Equal(t, authv1.KeyState_KEY_STATE_ROTATING, state, "the orphaned key was rotated out")
		require.Equal(t, newID, replacedBy)
	})

	t.Run("JSON value keeps its other fields", func(t *testing.T) {
		const js = "/dev/batch/api-key/json"
		old := h.auth.IssueKey(t, "t1", "svc-json")
		v, err := json.Marshal(map[string]string{"api_key": old, "base_url": "https://rampart.internal"})
		require.NoError(t, err)
		_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: js, SecretString: string(v), ContentType: keyvaultv1.ContentType_CONTENT_TYPE_JSON})
		require.NoError(t, err)
		r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: js, RotationFunction: apiKeyFunction("api_key")})
		require.NoError(t, err)
		require.Empty(t, r.GetRotationError())
		cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: js})
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(cur.GetSecretString()), &m))
		require.Equal(t, "https://rampart.internal", m["base_url"])
		require.NotEqual(t, old, m["api_key"])
		_, _, ok := h.auth.Verify(m["api_key"])
		require.True(t, ok)
	})

	tests := []struct {
		desc, name, value, wantErr string
		setup                      func()
		teardown                   func()
	}{
		{desc: "failed testSecret leaves AWSCURRENT", name: "/dev/batch/api-key/broken",
			setup:    func() { h.auth.RevokeNewKeys(true) },
			teardown: func() { h.auth.RevokeNewKeys(false) }, wantErr: "pending key does not verify"},
		{desc: "another tenant's key is refused", name: "/dev/batch/api-key/foreign",
			value: h.auth.IssueKey(t, "t2", "svc-other"), wantErr: "belongs to another tenant"},
		{desc: "not an API key", name: "/dev/batch/api-key/garbage", value: "rk_not-a-key", wantErr: "not a Rampart API key"},
		{desc: "unknown key", name: "/dev/batch/api-key/unknown", value: func() string {
			k, err := apikey.Generate()
			require.NoError(t, err)
			return k.Plaintext()
		}(), wantErr: "does not verify"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			value := tc.value
			if value == "" {
				value = h.auth.IssueKey(t, "t1", "svc-"+tc.name[len(tc.name)-4:])
			}
			cr, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: tc.name, SecretString: value})
			require.NoError(t, err)
			if tc.setup != nil {
				tc.setup()
			}
			r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: tc.name, RotationFunction: apiKeyFunction("")})
			if tc.teardown != nil {
				tc.teardown()
			}
			require.NoError(t, err)
			require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, r.GetRotationStatus())
			require.Contains(t, r.GetRotationError(), tc.wantErr)
			require.NotContains(t, r.GetRotationError(), value, "no key in the recorded error")
			cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: tc.name})
			require.NoError(t, err)
			require.Equal(t, cr.GetVersionId(), cur.GetVersionId(), "AWSCURRENT unchanged")
			require.Equal(t, value, cur.GetSecretString())
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: tc.name, VersionStage: "AWSPENDING"})
			requireCode(t, err, codes.NotFound)
		})
	}

	t.Run("bad options", func(t *testing.T) {
		f := apiKeyFunction("")
		f.ApiKey.OverlapSeconds = -1
		_, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: secret, RotationFunction: f})
		requireCode(t, err, codes.InvalidArgument, "overlap_seconds")
	})

	require.False(t, strings.Contains(h.logs.String(), "rk_"), "no API key in the logs")
}

// TestRampartAPIKeyRotationWithoutAuth: a server without an auth client
// records the failure instead of crashing or half-rotating.
func TestRampartAPIKeyRotationWithoutAuth(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	k, err := apikey.Generate()
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/x/api-key/y", SecretString: k.Plaintext()})
	require.NoError(t, err)
	r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: "/dev/x/api-key/y", RotationFunction: apiKeyFunction("")})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, r.GetRotationStatus())
	require.Contains(t, r.GetRotationError(), "needs the auth service")
}
