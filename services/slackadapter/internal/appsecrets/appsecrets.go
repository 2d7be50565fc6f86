package appsecrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/pkg/awsclient"
	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/pkg/secrets/awssm"
	"github.com/rampart-platform/rampart/pkg/secrets/refs"
)

// The settings, as errors and logs name them.
const (
	SettingClientID      = "RAMPART_SLACK_CLIENT_ID"
	SettingClientSecret  = "RAMPART_SLACK_CLIENT_SECRET"  //nolint:gosec // G101: a setting's name, not a credential
	SettingSigningSecret = "RAMPART_SLACK_SIGNING_SECRET" //nolint:gosec // G101: a setting's name, not a credential
)

// LoadAWSConfig reads the SDK's default configuration (environment, shared
// files, web identity, container or instance role) with region and endpoint
// overrides, and routes its HTTP through pkg/awsclient.
func LoadAWSConfig(ctx context.Context, region, endpoint string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	c, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if endpoint != "" {
		c.BaseEndpoint = aws.String(endpoint)
	}
	return WithHTTPClient(c), nil
}

// WithHTTPClient returns c with its HTTP client wrapped by pkg/awsclient.
func WithHTTPClient(c aws.Config) aws.Config {
	if c.HTTPClient != nil {
		c.HTTPClient = awsclient.HTTPClient(c.HTTPClient)
	}
	return c
}

// SourceOptions configure NewSource.
type SourceOptions struct {
	// Refresh is how long an entry is fresh: each refresh reads AWS again.
	Refresh time.Duration
	// BreakerTimeout is how long the circuit breaker stays open after
	// repeated failures (default 30 s).
	BreakerTimeout time.Duration
	Now            func() time.Time
	Registerer     prometheus.Registerer
}

// NewSource is Secrets Manager + SSM (pkg/secrets/awssm) behind a Cache
// whose entries are fresh for o.Refresh and served stale for a day when
// AWS fails. Every entry is in one scope: these are the deployment's
// secrets, no tenant's.
func NewSource(cfg aws.Config, o SourceOptions) (*secrets.Cache, error) {
	return secrets.NewCache(awssm.NewFromConfig(cfg), secrets.CacheOptions{
		Name: "slack-app", TTL: o.Refresh, MaxStale: 24 * time.Hour, FetchTimeout: 20 * time.Second, BreakerTimeout: o.BreakerTimeout,
		Scope: func(context.Context) string { return "" }, Now: o.Now, Registerer: o.Registerer,
	})
}

// Options configure Load.
type Options struct {
	// Source resolves the references (NewSource).
	Source secrets.Source
	// ClientID is a value or a reference; ClientSecret and SigningSecret
	// are references.
	ClientID, ClientSecret, SigningSecret string
	// Overlap is how long the previous signing secret still verifies
	// after it changed (0: not at all).
	Overlap time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

// Credentials are the app's credentials as last resolved.
type Credentials struct {
	ClientID     string
	ClientSecret string
	// Signing is the current signing secret, then the previous one while
	// the overlap lasts.
	Signing []string
	// UpdatedAt is when a value last changed (or the first resolution).
	UpdatedAt time.Time
}

// App holds the resolved credentials. It is safe for concurrent use.
type App struct {
	o Options

	mu            sync.Mutex
	clientID      string
	clientSecret  string
	signing       string
	previous      string
	previousUntil time.Time
	updatedAt     time.Time
}

// Load resolves the three settings; an error names the setting and its
// reference (never a value), and the adapter does not start.
func Load(ctx context.Context, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	a := &App{o: o}
	if err := a.Refresh(ctx); err != nil {
		return nil, err
	}
	a.o.Log.InfoContext(ctx, "slack app credentials resolved from AWS", "client_secret_ref", o.ClientSecret, "signing_secret_ref", o.SigningSecret)
	return a, nil
}

// Refresh reads the three settings again (through the Cache: a fresh entry
// is not read again, a failing AWS serves the last value). On an error
// the values held stay in use.
func (a *App) Refresh(ctx context.Context) error {
	id, err := a.resolve(ctx, SettingClientID, a.o.ClientID)
	if err != nil {
		return err
	}
	cs, err := a.resolve(ctx, SettingClientSecret, a.o.ClientSecret)
	if err != nil {
		return err
	}
	ss, err := a.resolve(ctx, SettingSigningSecret, a.o.SigningSecret)
	if err != nil {
		return err
	}
	now := a.o.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := a.updatedAt.IsZero() || id != a.clientID || cs != a.clientSecret || ss != a.signing
	if a.signing != "" && ss != a.signing {
		a.previous, a.previousUntil = a.signing, now.Add(a.o.Overlap)
		a.o.Log.InfoContext(ctx, "slack signing secret changed in AWS; the previous one is still accepted until the overlap ends",
			"setting", SettingSigningSecret, "previous_accepted_until", a.previousUntil.UTC().Format(time.RFC3339))
	}
	if a.clientSecret != "" && cs != a.clientSecret {
		a.o.Log.InfoContext(ctx, "slack client secret changed in AWS", "setting", SettingClientSecret)
	}
	a.clientID, a.clientSecret, a.signing = id, cs, ss
	if changed {
		a.updatedAt = now
	}
	return nil
}

func (a *App) resolve(ctx context.Context, setting, ref string) (string, error) {
	if !refs.IsReference(ref) {
		return ref, nil // a client id written as a value
	}
	v, err := a.o.Source.GetSecretValue(ctx, ref, "")
	switch {
	case err != nil:
		return "", fmt.Errorf("%s %s: %w", setting, ref, err)
	case v.IsBinary() || v.String == "":
		return "", fmt.Errorf("%s %s: %w", setting, ref, errEmpty)
	}
	return v.String, nil
}

var errEmpty = errors.New("the secret is empty or binary; a Slack credential is a non-empty string")

// Credentials returns what was last resolved; the previous signing secret
// is among them only until its overlap ends.
func (a *App) Credentials() Credentials {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := Credentials{ClientID: a.clientID, ClientSecret: a.clientSecret, Signing: []string{a.signing}, UpdatedAt: a.updatedAt}
	if a.previous != "" && a.o.Now().Before(a.previousUntil) {
		c.Signing = append(c.Signing, a.previous)
	}
	return c
}

// Run refreshes every interval until ctx ends; a failed refresh is logged
// (setting and reference, the cause without any value) and the values held
// stay in use.
func (a *App) Run(ctx context.Context, every time.Duration) error {
	periodic.Every(ctx, every, func(ctx context.Context) {
		if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
			a.o.Log.WarnContext(ctx, "slack app credentials: refresh from AWS failed; the last values stay in use", "err", err)
		}
	})
	return nil
}
