package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"

	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
)

// Auth is what the adapter needs from auth.
type Auth interface {
	VerifyKey(ctx context.Context, apiKey string) (platform.Verified, error)
	// CreateKey acts as the caller whose assertion ctx carries.
	CreateKey(ctx context.Context, name string, scopes []string) (id, plaintext string, err error)
}

// Vault is what the adapter needs from keyvault.
type Vault interface {
	Get(ctx context.Context, assertion, name string) (secrets.Value, error)
	Put(ctx context.Context, assertion, name, value string) error
	// Delete removes name now (no recovery window).
	Delete(ctx context.Context, assertion, name string) error
}

// Inference answers chat completions.
type Inference interface {
	// Stream runs a streaming chat completion, calling onChunk per chunk.
	Stream(ctx context.Context, assertion string, body []byte, onChunk func([]byte) error) error
	// HasModel: may the principal use model (e.g. a tenant assistant)?
	HasModel(ctx context.Context, assertion, model string) (bool, error)
}

// Ingestion answers which collections a tenant has.
type Ingestion interface {
	// Collections lists the collection names of the tenant of assertion
	// ("": the principal ctx forwards); an error carries ingestion's gRPC
	// code.
	Collections(ctx context.Context, assertion string) ([]string, error)
}

// Slack is the Slack Web API.
type Slack interface {
	PostMessage(ctx context.Context, botToken, channel, threadTS string, msg slackapi.Message) (string, error)
	PostEphemeral(ctx context.Context, botToken, channel, user, threadTS string, msg slackapi.Message) error
	UpdateMessage(ctx context.Context, botToken, channel, ts string, msg slackapi.Message) error
	TryUpdateMessage(ctx context.Context, botToken, channel, ts string, msg slackapi.Message) error
	ThreadReplies(ctx context.Context, botToken, channel, threadTS string, keep int) ([]slackapi.ThreadMessage, error)
	IsWorkspaceAdmin(ctx context.Context, botToken, user string) (bool, error)
	UserOrg(ctx context.Context, botToken, user string) (string, error)
	Exchange(ctx context.Context, clientID, clientSecret, code, redirectURI string) (*slack.OAuthV2Response, error)
	Refresh(ctx context.Context, clientID, clientSecret, refreshToken string) (*slack.OAuthV2Response, error)
	Respond(ctx context.Context, responseURL string, inChannel bool, msg slackapi.Message) error
}

// Caller is a verified admin-API caller (from the principal assertion).
type Caller struct {
	TenantID string
	// KeyID is the key the caller presented.
	KeyID   string
	Subject string
	Roles   []string
	Scopes  []string
	// AllowedModels is the key's model allow-list (empty: every model).
	AllowedModels []string
}

// admin: role owner or admin with a key holding scope admin (auth's rule).
func (c Caller) admin() bool {
	role := false
	for _, r := range c.Roles {
		if r == "owner" || r == "admin" {
			role = true
		}
	}
	for _, s := range c.Scopes {
		if s == "admin" {
			return role
		}
	}
	return false
}

// clock is injectable.
type clock func() time.Time
