package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
)

// Auth calls auth.
type Auth struct {
	auth authv1.AuthServiceClient
	keys authv1.KeyServiceClient
}

// NewAuth returns an Auth over conn.
func NewAuth(conn grpc.ClientConnInterface) *Auth {
	return &Auth{auth: authv1.NewAuthServiceClient(conn), keys: authv1.NewKeyServiceClient(conn)}
}

// Verified is a verified key's assertions.
type Verified struct {
	// Assertion holds the key's assertions for the services the adapter
	// calls with it (botAudiences), as a principal.Bundle; withAssertion
	// picks the one for each call (ADR 0083).
	Assertion string
	TenantID  string
	Until     time.Time
}

// botAudiences are the services the adapter calls on its tenant keys:
// inference for answers (which forwards to ingestion and keyvault),
// ingestion for a binding's collections, keyvault for the workspace's
// Slack credentials.
var botAudiences = []string{permissions.Inference, permissions.Ingestion, permissions.Keyvault}

// VerifyKey turns an API key into signed principal assertions, one for each
// service the adapter calls with it.
func (a *Auth) VerifyKey(ctx context.Context, apiKey string) (Verified, error) {
	r, err := a.auth.VerifyKey(ctx, &authv1.VerifyKeyRequest{ApiKey: apiKey, Audiences: botAudiences})
	if err != nil {
		// A right key of a suspended or deleted tenant says so (ADR 0123
		// §2): the bot tells the workspace instead of staying silent.
		if reason := grpcerr.TenantNotActive(err); reason != "" {
			return Verified{}, fmt.Errorf("auth VerifyKey: %s: %w", status.Code(err), &grpcerr.TenantNotActiveError{Reason: reason})
		}
		return Verified{}, fmt.Errorf("auth VerifyKey: %s", status.Code(err))
	}
	until := time.Unix(r.GetCacheUntil(), 0)
	if exp := r.GetPrincipal().GetExpiresAt(); exp > 0 && (r.GetCacheUntil() == 0 || exp < r.GetCacheUntil()) {
		until = time.Unix(exp, 0)
	}
	return Verified{Assertion: string(principal.NewBundle(principal.ByAudience(r.GetAssertions()))), TenantID: r.GetPrincipal().GetTenantId(), Until: until}, nil
}

// CreateKey creates a key with scopes for the caller of ctx's call (its
// delegation for auth, principal.ForwardTo) and returns its id and
// plaintext.
func (a *Auth) CreateKey(ctx context.Context, name string, scopes []string) (id, plaintext string, err error) {
	r, err := a.keys.CreateKey(principal.ForwardTo(ctx, permissions.Auth), &authv1.CreateKeyRequest{Name: name, Scopes: scopes})
	if err != nil {
		st := status.Convert(err)
		return "", "", status.Error(st.Code(), "auth CreateKey: "+st.Message())
	}
	return r.GetKey().GetKeyId(), r.GetApiKey(), nil
}

// Vault reads and writes keyvault secrets.
type Vault struct {
	conn grpc.ClientConnInterface
	c    keyvaultv1.SecretsServiceClient
}

// NewVault returns a Vault over conn.
func NewVault(conn grpc.ClientConnInterface) *Vault {
	return &Vault{conn: conn, c: keyvaultv1.NewSecretsServiceClient(conn)}
}

// Get reads name's current string value as the principal of assertion.
func (v *Vault) Get(ctx context.Context, assertion, name string) (secrets.Value, error) {
	return secrets.NewKeyvault(v.conn, secrets.KeyvaultOptions{
		Assertion: func(context.Context) (string, error) {
			return principal.Bundle(assertion).Forwarding(permissions.Keyvault, nil).Assertion, nil
		},
	}).GetSecretValue(withAssertion(ctx, "", ""), name, "")
}

// Put writes value as the new current version of name (creating it).
func (v *Vault) Put(ctx context.Context, assertion, name, value string) error {
	ctx = withAssertion(ctx, assertion, permissions.Keyvault)
	_, err := v.c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: value})
	if status.Code(err) == codes.NotFound {
		_, err = v.c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: value,
			Description: "Slack credentials managed by the Rampart slack adapter"})
		if status.Code(err) == codes.AlreadyExists {
			_, err = v.c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: value})
		}
	}
	if err != nil {
		st := status.Convert(err)
		return fmt.Errorf("keyvault write %s: %s: %s", name, st.Code(), st.Message())
	}
	return nil
}

// Tombstone is the value a revoked token's secret is overwritten with when
// keyvault's policy does not let the adapter delete it.
const Tombstone = `{"revoked":true}`

// Delete removes name at once (force_delete_without_recovery): used for a
// bot token Slack has revoked. A secret already gone is not an error.
// keyvault's default policy lets the adapter delete on its own prefix; if a
// configured policy refuses the deletion, the current value is overwritten
// with Tombstone so no live version holds the token, and ErrDeleteDenied is
// returned wrapped for the caller to log.
func (v *Vault) Delete(ctx context.Context, assertion, name string) error {
	_, err := v.c.DeleteSecret(withAssertion(ctx, assertion, permissions.Keyvault), &keyvaultv1.DeleteSecretRequest{Name: name, ForceDeleteWithoutRecovery: true})
	switch status.Code(err) {
	case codes.OK, codes.NotFound:
		return nil
	case codes.PermissionDenied:
		if perr := v.Put(ctx, assertion, name, Tombstone); perr != nil {
			return perr
		}
		return fmt.Errorf("%w: %s overwritten with a tombstone", ErrDeleteDenied, name)
	default:
		st := status.Convert(err)
		return fmt.Errorf("keyvault delete %s: %s: %s", name, st.Code(), st.Message())
	}
}

// ErrDeleteDenied means keyvault's policy refused a deletion; the value was
// overwritten instead.
var ErrDeleteDenied = errors.New("keyvault policy denies slackadapter deletes")

// Inference asks inference for chat completions.
type Inference struct {
	c inferencev1.InferenceServiceClient
}

// NewInference returns an Inference over conn.
func NewInference(conn grpc.ClientConnInterface) *Inference {
	return &Inference{c: inferencev1.NewInferenceServiceClient(conn)}
}

// Chat sends an OpenAI chat completion body as the principal of assertion
// and returns the OpenAI response body.
func (i *Inference) Chat(ctx context.Context, assertion string, body []byte) ([]byte, error) {
	r, err := i.c.ChatCompletion(withAssertion(ctx, assertion, permissions.Inference), &inferencev1.ChatCompletionRequest{Body: body})
	if err != nil {
		st := status.Convert(err)
		return nil, fmt.Errorf("inference ChatCompletion: %s: %s", st.Code(), st.Message())
	}
	return r.GetBody(), nil
}

// Stream sends an OpenAI chat completion body with "stream": true as the
// principal of assertion and calls onChunk with each chat.completion.chunk
// JSON object until the stream ends. An error from onChunk cancels it.
func (i *Inference) Stream(ctx context.Context, assertion string, body []byte, onChunk func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := i.c.StreamChatCompletion(withAssertion(ctx, assertion, permissions.Inference), &inferencev1.StreamChatCompletionRequest{Body: body})
	if err != nil {
		return inferenceErr(err)
	}
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return inferenceErr(err)
		}
		if err := onChunk(msg.GetChunk()); err != nil {
			return err
		}
	}
}

// HasModel reports whether the principal of assertion may use model (a
// provider model or one of its tenant's assistants).
func (i *Inference) HasModel(ctx context.Context, assertion, model string) (bool, error) {
	_, err := i.c.GetModel(withAssertion(ctx, assertion, permissions.Inference), &inferencev1.GetModelRequest{Model: model})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound, codes.InvalidArgument, codes.PermissionDenied:
		return false, nil
	default:
		return false, inferenceErr(err)
	}
}

// InferenceError is an error inference answered with: its gRPC code and
// message (which name the request's problem, e.g. an unknown collection).
type InferenceError struct {
	Code    codes.Code
	Message string
}

func (e *InferenceError) Error() string { return "inference: " + e.Code.String() + ": " + e.Message }

func inferenceErr(err error) error {
	st := status.Convert(err)
	return &InferenceError{Code: st.Code(), Message: st.Message()}
}

// withAssertion makes bundle's assertion for audience, and the delegations
// audience needs for its own onward calls, the only principal on outgoing
// calls (ADR 0083); an empty bundle just removes any.
func withAssertion(ctx context.Context, bundle, audience string) context.Context {
	return principal.Bundle(bundle).Forwarding(audience, permissions.Default().Delegates(audience)).Outgoing(ctx)
}

// Ingestion asks ingestion about the caller's collections.
type Ingestion struct {
	c ingestionv1.IngestionServiceClient
}

// NewIngestion returns an Ingestion over conn.
func NewIngestion(conn grpc.ClientConnInterface) *Ingestion {
	return &Ingestion{c: ingestionv1.NewIngestionServiceClient(conn)}
}

// Collections lists the names of the collections of the tenant of
// assertion ("": the principal ctx already forwards, an admin request's);
// ingestion answers for that tenant only. The error keeps ingestion's gRPC
// code.
func (i *Ingestion) Collections(ctx context.Context, assertion string) ([]string, error) {
	if assertion != "" {
		ctx = withAssertion(ctx, assertion, permissions.Ingestion)
	} else {
		ctx = principal.ForwardTo(ctx, permissions.Ingestion)
	}
	r, err := i.c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	if err != nil {
		st := status.Convert(err)
		return nil, status.Error(st.Code(), "ingestion ListCollections: "+st.Message())
	}
	names := make([]string, 0, len(r.GetCollections()))
	for _, c := range r.GetCollections() {
		names = append(names, c.GetName())
	}
	return names, nil
}
