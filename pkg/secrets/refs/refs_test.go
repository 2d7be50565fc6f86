package refs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/secrets/refs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want refs.Ref
		err  string
	}{
		{in: "{{resolve:secretsmanager:/prod/slack/token/bot}}", want: refs.Ref{Kind: refs.KindSecretsManager, Name: "/prod/slack/token/bot"}},
		{in: " {{resolve:secretsmanager:MySecret:SecretString:password}} ", want: refs.Ref{Kind: refs.KindSecretsManager, Name: "MySecret", JSONKey: "password"}},
		{in: "{{resolve:secretsmanager:MySecret::password}}", want: refs.Ref{Kind: refs.KindSecretsManager, Name: "MySecret", JSONKey: "password"}},
		{in: "{{resolve:secretsmanager:MySecret:SecretString:password:AWSPREVIOUS}}", want: refs.Ref{Kind: refs.KindSecretsManager, Name: "MySecret", JSONKey: "password", VersionStage: "AWSPREVIOUS"}},
		{in: "{{resolve:secretsmanager:MySecret:SecretString:::0a1b2c3d-aaaa}}", want: refs.Ref{Kind: refs.KindSecretsManager, Name: "MySecret", VersionID: "0a1b2c3d-aaaa"}},
		{in: "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/x/y/z-AbCdEf:SecretString:token}}",
			want: refs.Ref{Kind: refs.KindSecretsManager, Name: "arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/x/y/z-AbCdEf", JSONKey: "token"}},
		{in: "{{resolve:ssm-secure:/prod/slack/signing-secret:3}}", want: refs.Ref{Kind: refs.KindSSMSecure, Name: "/prod/slack/signing-secret", ParamVersion: 3}},
		{in: "{{resolve:ssm:/prod/slack/bot-token-ref}}", want: refs.Ref{Kind: refs.KindSSM, Name: "/prod/slack/bot-token-ref"}},
		{in: "plain", err: "must look like"},
		{in: "{{resolve:secretsmanager:}}", err: "missing name"},
		{in: "{{resolve:dynamodb:x}}", err: "unknown service"},
		{in: "{{resolve:secretsmanager:x:SecretBinary}}", err: "SecretString"},
		{in: "{{resolve:secretsmanager:x:SecretString:k:AWSCURRENT:v1}}", err: "mutually exclusive"},
		{in: "{{resolve:secretsmanager:x:SecretString:k:s:v:extra}}", err: "too many"},
		{in: "{{resolve:secretsmanager:bad name}}", err: "secret id"},
		{in: "{{resolve:secretsmanager:arn:aws:s3:::bucket}}", err: "ARN"},
		{in: "{{resolve:ssm-secure:/p:0}}", err: "positive integer"},
		{in: "{{resolve:ssm-secure:/p:x}}", err: "positive integer"},
		{in: "{{resolve:ssm:}}", err: "missing"},
		{in: "{{resolve:ssm:a b}}", err: "parameter name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := refs.Parse(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, refs.ErrSyntax)
				require.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			again, err := refs.Parse(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

type fakeSM map[string]string // id|stage|versionID → value

func (f fakeSM) GetSecretString(_ context.Context, id, stage, vid string) (string, error) {
	if stage == "" && vid == "" {
		stage = "AWSCURRENT"
	}
	v, ok := f[id+"|"+stage+"|"+vid]
	if !ok {
		return "", errors.New("secret not found")
	}
	return v, nil
}

type fakeSSM map[string]string // name|version|decrypt → value

func (f fakeSSM) GetParameter(_ context.Context, name string, version int64, decrypt bool) (string, error) {
	v, ok := f[fmt.Sprintf("%s|%d|%t", name, version, decrypt)]
	if !ok {
		return "", errors.New("parameter not found")
	}
	return v, nil
}

func TestResolve(t *testing.T) {
	r := refs.Resolver{
		SM: fakeSM{
			"/prod/slack/token/bot|AWSCURRENT|":  `{"token":"xoxb-1","n":3}`,
			"/prod/slack/token/bot|AWSPREVIOUS|": `{"token":"xoxb-0"}`,
			"plain|AWSCURRENT|":                  "hunter2",
		},
		SSM: fakeSSM{
			"/prod/slack/bot-token|0|false": "{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:token}}",
			"/prod/slack/signing|2|true":    "s3cret",
			"/prod/loop|0|false":            "{{resolve:ssm:/prod/loop}}",
			"/prod/bad|0|false":             "{{resolve:secretsmanager:}}",
			"/prod/slack/chain|0|true":      "{{resolve:secretsmanager:plain}}",
			"/prod/slack/not-a-ref|0|false": "just text",
		},
	}
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "not a reference", want: "not a reference"},
		{in: "{{resolve:secretsmanager:plain}}", want: "hunter2"},
		{in: "{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:token}}", want: "xoxb-1"},
		{in: "{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:n}}", want: "3"},
		{in: "{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:token:AWSPREVIOUS}}", want: "xoxb-0"},
		{in: "{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:missing}}", err: refs.ErrJSONKey},
		{in: "{{resolve:secretsmanager:plain:SecretString:k}}", err: refs.ErrJSONKey},
		{in: "{{resolve:ssm:/prod/slack/bot-token}}", want: "xoxb-1"},
		{in: "{{resolve:ssm-secure:/prod/slack/signing:2}}", want: "s3cret"},
		{in: "{{resolve:ssm-secure:/prod/slack/chain}}", want: "hunter2"},
		{in: "{{resolve:ssm:/prod/slack/not-a-ref}}", want: "just text"},
		{in: "{{resolve:ssm:/prod/loop}}", err: refs.ErrSyntax},
		{in: "{{resolve:ssm:/prod/bad}}", err: refs.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := refs.Resolver{}.Resolve(context.Background(), "{{resolve:ssm:/x}}")
	require.ErrorIs(t, err, refs.ErrNoBackend)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"{{resolve:secretsmanager:/prod/slack/token/bot:SecretString:token:AWSCURRENT}}",
		"{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x-Ab:SecretString:::v}}",
		"{{resolve:ssm-secure:/a/b:2}}", "{{resolve:ssm:/a}}", "{{resolve::}}", "{{}}", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := refs.Parse(s)
		if err != nil {
			require.ErrorIs(t, err, refs.ErrSyntax)
			return
		}
		require.NotEmpty(t, r.Name)
		again, err := refs.Parse(r.String())
		require.NoError(t, err, "canonical form %q of %q", r.String(), s)
		require.Equal(t, r, again)
	})
}
