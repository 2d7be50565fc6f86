package awssm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/pkg/secrets/refs"
)

// SecretsManagerAPI is the part of the Secrets Manager client used here.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of the SSM client used here.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ParamPrefix marks a name as an SSM parameter.
const ParamPrefix = "ssm:"

// Source reads from Secrets Manager and Parameter Store.
type Source struct {
	sm  SecretsManagerAPI
	ssm SSMAPI
}

// New returns a Source; ssmClient may be nil when no parameters are read.
func New(sm SecretsManagerAPI, ssmClient SSMAPI) *Source { return &Source{sm: sm, ssm: ssmClient} }

// NewFromConfig builds both clients from an SDK config (BaseEndpoint in it
// points them at a fake or a VPC endpoint).
func NewFromConfig(cfg aws.Config) *Source {
	return New(secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg))
}

// GetSecretValue implements secrets.Source.
func (s *Source) GetSecretValue(ctx context.Context, name, stage string) (secrets.Value, error) {
	switch {
	case refs.IsReference(name):
		if stage != "" && stage != secrets.StageCurrent {
			return secrets.Value{}, fmt.Errorf("%w: a reference selects its own version", secrets.ErrInvalid)
		}
		v, err := s.Resolver().Resolve(ctx, name)
		if err != nil {
			if errors.Is(err, refs.ErrSyntax) || errors.Is(err, refs.ErrJSONKey) || errors.Is(err, refs.ErrNoBackend) {
				return secrets.Value{}, fmt.Errorf("%w: %w", secrets.ErrInvalid, err)
			}
			return secrets.Value{}, err
		}
		return secrets.Value{Name: name, String: v}, nil
	case strings.HasPrefix(name, ParamPrefix):
		pname, ver, _ := strings.Cut(strings.TrimPrefix(name, ParamPrefix), ":")
		var n int64
		if ver != "" {
			var err error
			if n, err = strconv.ParseInt(ver, 10, 64); err != nil || n < 1 {
				return secrets.Value{}, fmt.Errorf("%w: parameter version %q", secrets.ErrInvalid, ver)
			}
		}
		v, err := s.GetParameter(ctx, pname, n, true)
		if err != nil {
			return secrets.Value{}, err
		}
		if refs.IsReference(v) {
			return s.GetSecretValue(ctx, v, "")
		}
		return secrets.Value{Name: name, String: v}, nil
	}
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: optional(stage)})
	if err != nil {
		return secrets.Value{}, mapErr(err)
	}
	v := secrets.Value{Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId), Stages: out.VersionStages,
		String: aws.ToString(out.SecretString)}
	if out.CreatedDate != nil {
		v.CreatedAt = *out.CreatedDate
	}
	if out.SecretString == nil && out.SecretBinary != nil {
		v.Binary = out.SecretBinary
	}
	return v, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// GetSecretString implements refs.SecretsManager.
func (s *Source) GetSecretString(ctx context.Context, id, stage, versionID string) (string, error) {
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: optional(stage), VersionId: optional(versionID)})
	if err != nil {
		return "", mapErr(err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("%w: secret %q is binary; references need SecretString", secrets.ErrInvalid, id)
	}
	return *out.SecretString, nil
}

// GetParameter implements refs.ParameterStore.
func (s *Source) GetParameter(ctx context.Context, name string, version int64, decrypt bool) (string, error) {
	if s.ssm == nil {
		return "", fmt.Errorf("%w: no SSM client", secrets.ErrInvalid)
	}
	if version > 0 {
		name += ":" + strconv.FormatInt(version, 10)
	}
	out, err := s.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
	if err != nil {
		return "", mapErr(err)
	}
	if out.Parameter == nil {
		return "", fmt.Errorf("%w: parameter %q", secrets.ErrNotFound, name)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// Resolver returns a reference resolver over this source's clients.
func (s *Source) Resolver() refs.Resolver {
	r := refs.Resolver{SM: s}
	if s.ssm != nil {
		r.SSM = s
	}
	return r
}

// mapErr turns AWS error shapes into the package's errors; the SDK has
// already retried throttling and 5xx.
func mapErr(err error) error {
	var (
		rnf *smtypes.ResourceNotFoundException
		pnf *ssmtypes.ParameterNotFound
		pvn *ssmtypes.ParameterVersionNotFound
		ip  *smtypes.InvalidParameterException
		ir  *smtypes.InvalidRequestException
	)
	switch {
	case errors.As(err, &rnf), errors.As(err, &pnf), errors.As(err, &pvn):
		return fmt.Errorf("%w: %w", secrets.ErrNotFound, err)
	case errors.As(err, &ip), errors.As(err, &ir):
		return fmt.Errorf("%w: %w", secrets.ErrInvalid, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException":
			return fmt.Errorf("%w: %w", secrets.ErrDenied, err)
		}
	}
	return fmt.Errorf("secrets: aws: %w", err)
}
