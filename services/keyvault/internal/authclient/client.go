package authclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
)

// Client implements rotation.KeyAuthority over an mTLS connection to auth.
type Client struct {
	auth    authv1.AuthServiceClient
	keys    authv1.KeyServiceClient
	timeout time.Duration
}

var _ rotation.KeyAuthority = (*Client)(nil)

// New returns a Client on conn (dialled to auth with keyvault's identity).
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{auth: authv1.NewAuthServiceClient(conn), keys: authv1.NewKeyServiceClient(conn), timeout: 10 * time.Second}
}

// VerifyKey implements rotation.KeyAuthority.
func (c *Client) VerifyKey(ctx context.Context, apiKey string) (rotation.KeyIdentity, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// An assertion for auth only: keyvault presents it to GetKey and
	// RotateKey and nowhere else (ADR 0083).
	resp, err := c.auth.VerifyKey(ctx, &authv1.VerifyKeyRequest{ApiKey: apiKey, Audiences: []string{"auth"}})
	if err != nil {
		return rotation.KeyIdentity{}, describe("VerifyKey", err)
	}
	p := resp.GetPrincipal()
	if p.GetTenantId() == "" || p.GetKeyId() == "" || resp.GetAssertion() == "" {
		return rotation.KeyIdentity{}, fmt.Errorf("auth VerifyKey: incomplete answer")
	}
	return rotation.KeyIdentity{Tenant: p.GetTenantId(), KeyID: p.GetKeyId(), Assertion: resp.GetAssertion()}, nil
}

// KeyState implements rotation.KeyAuthority.
func (c *Client) KeyState(ctx context.Context, id rotation.KeyIdentity, keyID string) (rotation.KeyState, error) {
	ctx, cancel := context.WithTimeout(principal.AppendToOutgoing(ctx, id.Assertion), c.timeout)
	defer cancel()
	resp, err := c.keys.GetKey(ctx, &authv1.GetKeyRequest{KeyId: keyID})
	if err != nil {
		return rotation.KeyState{}, describe("GetKey", err)
	}
	k := resp.GetKey()
	return rotation.KeyState{Active: k.GetState() == authv1.KeyState_KEY_STATE_ACTIVE, ReplacedBy: k.GetReplacedBy()}, nil
}

// RotateKey implements rotation.KeyAuthority.
func (c *Client) RotateKey(ctx context.Context, id rotation.KeyIdentity, keyID string, overlap time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(principal.AppendToOutgoing(ctx, id.Assertion), c.timeout)
	defer cancel()
	resp, err := c.keys.RotateKey(ctx, &authv1.RotateKeyRequest{KeyId: keyID, OverlapSeconds: int64(overlap / time.Second)})
	if err != nil {
		return "", describe("RotateKey", err)
	}
	return resp.GetApiKey(), nil
}

// describe keeps auth's code and message (auth never echoes a key).
func describe(method string, err error) error {
	st := status.Convert(err)
	return fmt.Errorf("auth %s: %s: %s", method, st.Code(), st.Message())
}
