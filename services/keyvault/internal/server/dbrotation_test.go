package server_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// Issue 10, item 8: rotating a database credential (random_password with a
// JSON key) changes only the configured field; username, host, port and
// every other field survive with their exact values and types.
func TestDatabaseCredentialRotationKeepsOtherFields(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	const db = "/dev/app/db/main"
	initial := `{"engine":"postgres","host":"db.internal","port":5432,"username":"app","password":"old-password","dbname":"orders","ssl":true,"options":{"sslmode":"verify-full"}}`
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: db, SecretString: initial})
	require.NoError(t, err)

	fn := &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD,
		PasswordPolicy: &keyvaultv1.PasswordPolicy{Length: 24, JsonKey: "password"}}
	_, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: db, ClientRequestToken: tokB, RotationFunction: fn,
		RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "rate(30 days)"}})
	require.NoError(t, err)

	decode := func(stage string) map[string]json.RawMessage {
		v, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: db, VersionStage: stage})
		require.NoError(t, err)
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(v.GetSecretString()), &m))
		return m
	}
	before, after := decode("AWSPREVIOUS"), decode("AWSCURRENT")
	var want map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(initial), &want))
	require.Equal(t, want, before, "AWSPREVIOUS is the initial value")
	require.Len(t, after, len(want))
	for k, v := range want {
		if k == "password" {
			continue
		}
		require.JSONEq(t, string(v), string(after[k]), "field %s changed", k)
	}
	var pw string
	require.NoError(t, json.Unmarshal(after["password"], &pw))
	require.Len(t, pw, 24)
	require.NotEqual(t, "old-password", pw)

	// A value that is not a JSON object is never replaced wholesale: the
	// rotation fails, AWSCURRENT stays.
	const plain = "/dev/app/db/plain"
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: plain, SecretString: "just-a-password"})
	require.NoError(t, err)
	r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: plain, RotationFunction: fn,
		RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "rate(30 days)"}})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, r.GetRotationStatus())
	d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: plain})
	require.NoError(t, err)
	require.Contains(t, d.GetSecret().GetRotationError(), "not a JSON object")
	require.NotContains(t, d.GetSecret().GetRotationError(), "just-a-password")
	v, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: plain})
	require.NoError(t, err)
	require.Equal(t, "just-a-password", v.GetSecretString())
}

// A schedule stored before the AWS rules were enforced (a 5-field cron)
// does not leave a past due time behind after the next rotation: automatic
// rotation is switched off (and logged) instead of firing at every tick.
func TestLegacyScheduleDisablesAutomaticRotation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	const n = "/dev/app/db/legacy"
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: n, SecretString: "v1"})
	require.NoError(t, err)
	fn := &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD}
	_, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: n, RotationFunction: fn,
		RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "cron(0 3 * * ? *)"}})
	require.NoError(t, err)
	_, err = h.st.DB().Exec(`UPDATE secrets SET rotation_schedule = 'cron(0 3 * * ?)' WHERE name = ?`, n)
	require.NoError(t, err)

	_, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: n})
	require.NoError(t, err)
	d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: n})
	require.NoError(t, err)
	require.False(t, d.GetSecret().GetRotationEnabled())
	require.Nil(t, d.GetSecret().GetNextRotationAt())
	require.Contains(t, h.logs.String(), "stored rotation schedule is no longer valid")
}
