package secrets

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultOptions configure the keyvault Source.
type KeyvaultOptions struct {
	// Assertion returns a principal assertion to send with each call (a
	// service principal). When nil the caller's delegation for keyvault is
	// forwarded from the incoming context (principal.ForwardTo), so keyvault
	// sees the same tenant the caller was called for.
	Assertion func(ctx context.Context) (string, error)
}

// Keyvault reads secrets from Rampart keyvault over gRPC (dial it with
// mtls.Dial).
type Keyvault struct {
	client keyvaultv1.SecretsServiceClient
	o      KeyvaultOptions
}

// NewKeyvault returns a Source reading from keyvault over conn.
func NewKeyvault(conn grpc.ClientConnInterface, o KeyvaultOptions) *Keyvault {
	return &Keyvault{client: keyvaultv1.NewSecretsServiceClient(conn), o: o}
}

// GetSecretValue implements Source.
func (k *Keyvault) GetSecretValue(ctx context.Context, name, stage string) (Value, error) {
	if k.o.Assertion != nil {
		tok, err := k.o.Assertion(ctx)
		if err != nil {
			return Value{}, fmt.Errorf("secrets: principal assertion: %w", err)
		}
		ctx = principal.AppendToOutgoing(ctx, tok)
	} else {
		ctx = principal.ForwardTo(ctx, "keyvault")
	}
	r, err := k.client.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: stage})
	if err != nil {
		return Value{}, fromStatus(err)
	}
	v := Value{Name: r.GetName(), VersionID: r.GetVersionId(), Stages: r.GetVersionStages(), CreatedAt: r.GetCreatedAt().AsTime()}
	if r.GetContentType() == keyvaultv1.ContentType_CONTENT_TYPE_BINARY || len(r.GetSecretBinary()) > 0 {
		v.Binary = r.GetSecretBinary()
		if v.Binary == nil {
			v.Binary = []byte{}
		}
	} else {
		v.String = r.GetSecretString()
	}
	return v, nil
}

// fromStatus maps keyvault's status codes onto the package's errors.
func fromStatus(err error) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, st.Message())
	case codes.PermissionDenied, codes.Unauthenticated:
		return fmt.Errorf("%w: %s", ErrDenied, st.Message())
	case codes.InvalidArgument, codes.FailedPrecondition:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	default:
		return fmt.Errorf("secrets: keyvault: %w", err)
	}
}
