package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// TestRotationLeaseOneReplicaDrives: while another replica holds a
// secret's rotation lease, this replica neither runs the rotation it was
// asked to start nor resumes it (each step may call a webhook or auth, so
// two drivers would repeat those calls); once the lease is free it resumes
// from the committed step and finishes.
func TestRotationLeaseOneReplicaDrives(t *testing.T) {
	onBothStores(t, func(t *testing.T, postgres bool) {
		h := newHarness(t, harnessOpts{postgres: postgres})
		c, ctx := h.admin(t, "t1")
		_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "initial", ClientRequestToken: tokA})
		require.NoError(t, err)
		sec, err := h.st.Read().SecretByName(ctx, "t1", name)
		require.NoError(t, err)
		lease := "rotation:" + sec.ID
		now := h.clock.Now()
		ok, err := h.st.TryLease(ctx, lease, "other-replica", now, now.Add(vault.RotationLease))
		require.NoError(t, err)
		require.True(t, ok)

		r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: tokB, RotateImmediately: proto.Bool(true),
			RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD}})
		require.NoError(t, err)
		require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_IN_PROGRESS, r.GetRotationStatus())
		require.NoError(t, h.svc.ResumeRotations(ctx))
		cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
		require.NoError(t, err)
		require.Equal(t, tokA, cur.GetVersionId(), "the other replica's rotation is not driven here")
		sec, err = h.st.Read().SecretByID(ctx, "t1", sec.ID)
		require.NoError(t, err)
		require.Equal(t, tokB, sec.RotationVersionID)
		require.Equal(t, vault.StepCreate, sec.RotationStep, "no step ran")

		// The lease expires (the other replica died): the next resume
		// takes the rotation over and finishes it.
		h.clock.Add(vault.RotationLease + time.Second)
		require.NoError(t, h.svc.ResumeRotations(ctx))
		cur, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
		require.NoError(t, err)
		require.Equal(t, tokB, cur.GetVersionId())
		ok, err = h.st.TryLease(ctx, lease, "other-replica", h.clock.Now(), h.clock.Now().Add(time.Minute))
		require.NoError(t, err)
		require.True(t, ok, "released when the rotation ended")
	})
}
