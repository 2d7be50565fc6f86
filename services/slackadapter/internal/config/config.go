package config

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/secrets/refs"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
)

// Service is this service's name.
const Service = "slackadapter"

// Config is loaded from RAMPART_SLACKADAPTER_* and flags.
type Config struct {
	config.Common

	AuthAddr      string `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" default:"127.0.0.1:7001" usage:"auth gRPC address (signing keys, VerifyKey, CreateKey)"`
	KeyvaultAddr  string `env:"RAMPART_KEYVAULT_ADDR,noprefix" flag:"keyvault-addr" default:"127.0.0.1:7002" usage:"keyvault gRPC address (Slack credentials)"`
	InferenceAddr string `env:"RAMPART_INFERENCE_ADDR,noprefix" flag:"inference-addr" default:"127.0.0.1:7003" usage:"inference gRPC address (answers)"`
	IngestionAddr string `env:"RAMPART_INGESTION_ADDR,noprefix" flag:"ingestion-addr" default:"127.0.0.1:7004" usage:"ingestion gRPC address (checks that the collections a binding names exist)"`

	// DatabaseURL selects PostgreSQL (replicas share it: event dedupe,
	// replay refusal and OAuth state single use are decided by its keys);
	// empty keeps the embedded SQLite file in the data dir.
	DatabaseURL        string        `env:"DATABASE_URL" flag:"database-url" usage:"postgres://... selects PostgreSQL (several replicas may share it); empty uses SQLite (slackadapter.db) in the data dir"`
	KEKFile            string        `env:"KEK_FILE" flag:"kek-file" usage:"the key-encryption key sealing the Slack app credentials and adapter keys (default: <data dir>/slackadapter.kek); replicas must read the same file, e.g. one Kubernetes Secret mounted read-only"`
	DBMaxConns         int           `env:"DB_MAX_CONNS" flag:"db-max-conns" default:"16" usage:"PostgreSQL: connections per replica"`
	DBStatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" flag:"db-statement-timeout" default:"30s" usage:"PostgreSQL: the server cancels statements running longer"`

	// Env is the {env} segment of keyvault names (/{env}/slackadapter/...).
	Env string `env:"ENV" flag:"env" default:"dev" usage:"environment segment of keyvault secret names"`
	// Model answers Slack questions through inference.
	Model string `env:"MODEL" flag:"model" default:"rampart-extractive" usage:"inference model used for answers"`
	// SlackAPIURL is Slack's Web API base URL (tests point it at a fake).
	SlackAPIURL string `env:"SLACK_API_URL" flag:"slack-api-url" default:"https://slack.com/api/" usage:"Slack Web API base URL"`
	// AuthorizeURL is Slack's OAuth v2 authorize page.
	AuthorizeURL string `env:"SLACK_AUTHORIZE_URL" flag:"slack-authorize-url" default:"https://slack.com/oauth/v2/authorize" usage:"Slack OAuth v2 authorize URL"`
	// PublicURL is the edge's public base URL; the OAuth redirect URI is
	// PublicURL + /slack/oauth/callback.
	PublicURL string `env:"PUBLIC_URL" flag:"public-url" default:"http://127.0.0.1:8080" usage:"public base URL of the edge (OAuth redirect URI base)"`
	// BotScopes are the bot token scopes requested at install.
	BotScopes []string `env:"BOT_SCOPES" flag:"bot-scopes" default:"app_mentions:read,channels:history,chat:write,commands,groups:history,im:history,mpim:history,users:read" usage:"comma-separated Slack bot scopes requested at install"`
	// ResponseURLHosts are the hosts slash-command response_url may name
	// (anything else is refused: no SSRF through a forged response_url).
	ResponseURLHosts []string `env:"RESPONSE_URL_HOSTS" flag:"response-url-hosts" default:"hooks.slack.com" usage:"comma-separated hosts allowed in slash-command response_url"`

	// StreamUpdateInterval: at most one chat.update per interval while an
	// answer streams (0: every chunk; tests).
	StreamUpdateInterval time.Duration `env:"STREAM_UPDATE_INTERVAL" flag:"stream-update-interval" default:"1s" usage:"least time between chat.update calls while an answer streams"`

	Workers   int           `env:"WORKERS" flag:"workers" default:"8" usage:"event-processing workers"`
	QueueSize int           `env:"QUEUE_SIZE" flag:"queue-size" default:"1024" usage:"events waiting for a worker; a full queue answers 503 so Slack retries"`
	DedupeTTL time.Duration `env:"DEDUPE_TTL" flag:"dedupe-ttl" default:"1h" usage:"how long event ids are remembered to drop Slack's retries and replays (at least 10m)"`
	StateTTL  time.Duration `env:"STATE_TTL" flag:"state-ttl" default:"10m" usage:"lifetime of an OAuth install state"`
	// RefreshBefore: a rotating bot token is refreshed this long before expiry.
	RefreshBefore time.Duration `env:"REFRESH_BEFORE" flag:"refresh-before" default:"15m" usage:"refresh rotating bot tokens this long before they expire"`
	MaxRetries    int           `env:"MAX_RETRIES" flag:"max-retries" default:"3" usage:"retries of a Slack call answered 429 (honoring Retry-After)"`
	MaxRetryAfter time.Duration `env:"MAX_RETRY_AFTER" flag:"max-retry-after" default:"30s" usage:"longest Retry-After honored; a longer one fails the reply"`

	// The Slack app from AWS (ADR 0126): the three together, or none (the
	// app is then what `rampart slack app set` stored). The secrets are
	// {{resolve:...}} references, never values (a value would show in ps
	// or the process environment).
	SlackClientID      string `env:"RAMPART_SLACK_CLIENT_ID,noprefix" flag:"slack-client-id" usage:"the Slack app's client id, or a {{resolve:...}} reference to it; with the two secret settings the app comes from AWS instead of rampart slack app set"`
	SlackClientSecret  string `env:"RAMPART_SLACK_CLIENT_SECRET,noprefix" flag:"slack-client-secret" usage:"{{resolve:secretsmanager:...}} or {{resolve:ssm-secure:...}} reference to the app's client secret (never the value)"`
	SlackSigningSecret string `env:"RAMPART_SLACK_SIGNING_SECRET,noprefix" flag:"slack-signing-secret" usage:"{{resolve:secretsmanager:...}} or {{resolve:ssm-secure:...}} reference to the app's signing secret (never the value)"`
	// SlackSecretsRefresh is how often the references are read again.
	SlackSecretsRefresh time.Duration `env:"SLACK_SECRETS_REFRESH" flag:"slack-secrets-refresh" default:"5m" usage:"how often the RAMPART_SLACK_* references are read again from AWS (a rotation is picked up within it)"`
	// SigningSecretOverlap: after a rotation the previous signing secret
	// still verifies this long.
	SigningSecretOverlap time.Duration `env:"SIGNING_SECRET_OVERLAP" flag:"signing-secret-overlap" default:"1h" usage:"after the signing secret changes in AWS, the previous one is still accepted this long (0: not at all)"`
	AWSRegion            string        `env:"AWS_REGION" flag:"aws-region" usage:"AWS region of the RAMPART_SLACK_* references (default from the SDK's environment)"`
	AWSEndpoint          string        `env:"AWS_ENDPOINT" flag:"aws-endpoint" usage:"AWS endpoint override for Secrets Manager and SSM (VPC endpoint, or a fake in tests)"`
}

// SlackAppFromAWS reports whether the app's credentials are settings
// (references resolved from AWS) rather than the stored record.
func (c *Config) SlackAppFromAWS() bool {
	return c.SlackClientID != "" || c.SlackClientSecret != "" || c.SlackSigningSecret != ""
}

// Default returns the defaults from docs/conventions.md.
func Default() *Config {
	return &Config{
		Common: config.Defaults(Service), AuthAddr: config.DefaultAddr("auth"),
		KeyvaultAddr: config.DefaultAddr("keyvault"), InferenceAddr: config.DefaultAddr("inference"),
		IngestionAddr: config.DefaultAddr("ingestion"), Env: "dev", Model: "rampart-extractive", SlackAPIURL: "https://slack.com/api/",
		AuthorizeURL: "https://slack.com/oauth/v2/authorize", PublicURL: "http://127.0.0.1:8080",
		BotScopes: []string{"app_mentions:read", "channels:history", "chat:write", "commands", "groups:history",
			"im:history", "mpim:history", "users:read"},
		ResponseURLHosts: []string{"hooks.slack.com"},
		Workers:          8, QueueSize: 1024, DedupeTTL: time.Hour, StateTTL: 10 * time.Minute,
		RefreshBefore: 15 * time.Minute, MaxRetries: 3, MaxRetryAfter: 30 * time.Second, StreamUpdateInterval: time.Second,
		DBMaxConns: 16, DBStatementTimeout: 30 * time.Second,
		SlackSecretsRefresh: 5 * time.Minute, SigningSecretOverlap: time.Hour,
	}
}

// AuthTarget tells pkg/backend where auth is (flag or RAMPART_AUTH_ADDR).
func (c *Config) AuthTarget() string { return c.AuthAddr }

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate()}
	for name, addr := range map[string]string{"AuthAddr": c.AuthAddr, "KeyvaultAddr": c.KeyvaultAddr, "InferenceAddr": c.InferenceAddr, "IngestionAddr": c.IngestionAddr} {
		if err := config.CheckBackendAddr(addr); err != nil {
			errs = append(errs, config.Invalidf(name, "%w", err))
		}
	}
	if c.DatabaseURL != "" && !pstore.IsPostgresURL(c.DatabaseURL) {
		// The value may hold a password: never echo it.
		errs = append(errs, config.Invalidf("DatabaseURL", "must be a postgres:// or postgresql:// URL (empty: SQLite in the data dir)"))
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		errs = append(errs, config.Invalidf("DBMaxConns", "must be 1-1000"))
	}
	if c.DBStatementTimeout < 100*time.Millisecond {
		errs = append(errs, config.Invalidf("DBStatementTimeout", "must be at least 100ms"))
	}
	if c.Env == "" || strings.ContainsAny(c.Env, "/ ") {
		errs = append(errs, config.Invalidf("Env", "must be one name segment, got %q", c.Env))
	}
	if c.Model == "" {
		errs = append(errs, config.Invalidf("Model", "required"))
	}
	for name, u := range map[string]string{"SlackAPIURL": c.SlackAPIURL, "AuthorizeURL": c.AuthorizeURL, "PublicURL": c.PublicURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, config.Invalidf(name, "must be an absolute http(s) URL, got %q", u))
		}
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		errs = append(errs, config.Invalidf("SlackAPIURL", "must end with /"))
	}
	if len(c.BotScopes) == 0 {
		errs = append(errs, config.Invalidf("BotScopes", "at least one scope is required"))
	}
	if len(c.ResponseURLHosts) == 0 {
		errs = append(errs, config.Invalidf("ResponseURLHosts", "at least one host is required"))
	}
	if c.Workers < 1 || c.Workers > 1024 {
		errs = append(errs, config.Invalidf("Workers", "must be 1..1024, got %d", c.Workers))
	}
	if c.QueueSize < 1 || c.QueueSize > 1_000_000 {
		errs = append(errs, config.Invalidf("QueueSize", "must be 1..1000000, got %d", c.QueueSize))
	}
	// A signed request verifies while its timestamp is within MaxSkew of
	// now, either way: up to 2*MaxSkew after it is first seen. Event ids
	// are the only replay guard for events, so they are kept that long.
	if c.DedupeTTL < 2*signature.MaxSkew {
		errs = append(errs, config.Invalidf("DedupeTTL", "must be at least %s (a signed event verifies that long, and Slack retries for about an hour), got %s", 2*signature.MaxSkew, c.DedupeTTL))
	}
	if c.StateTTL < time.Minute || c.StateTTL > time.Hour {
		errs = append(errs, config.Invalidf("StateTTL", "must be 1m..1h, got %s", c.StateTTL))
	}
	if c.RefreshBefore < time.Minute {
		errs = append(errs, config.Invalidf("RefreshBefore", "must be at least 1m, got %s", c.RefreshBefore))
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		errs = append(errs, config.Invalidf("MaxRetries", "must be 0..10, got %d", c.MaxRetries))
	}
	if c.StreamUpdateInterval < 0 || c.StreamUpdateInterval > time.Minute {
		errs = append(errs, config.Invalidf("StreamUpdateInterval", "must be 0..1m, got %s", c.StreamUpdateInterval))
	}
	if c.MaxRetryAfter <= 0 {
		errs = append(errs, config.Invalidf("MaxRetryAfter", "must be positive"))
	}
	return errors.Join(append(errs, c.validateSlackApp()...)...)
}

// validateSlackApp checks the app-from-AWS settings. A secret setting
// that is not a reference is refused without echoing it: it may be the
// secret itself.
func (c *Config) validateSlackApp() []error {
	var errs []error
	if c.SlackAppFromAWS() {
		for name, v := range map[string]string{"SlackClientID": c.SlackClientID, "SlackClientSecret": c.SlackClientSecret, "SlackSigningSecret": c.SlackSigningSecret} {
			if v == "" {
				errs = append(errs, config.Invalidf(name, "required when any of RAMPART_SLACK_CLIENT_ID, RAMPART_SLACK_CLIENT_SECRET and RAMPART_SLACK_SIGNING_SECRET is set"))
			}
		}
		if refs.IsReference(c.SlackClientID) {
			if _, err := refs.Parse(c.SlackClientID); err != nil {
				errs = append(errs, config.Invalidf("SlackClientID", "%w", err))
			}
		}
		for name, v := range map[string]string{"SlackClientSecret": c.SlackClientSecret, "SlackSigningSecret": c.SlackSigningSecret} {
			if v == "" {
				continue
			}
			r, err := refs.Parse(v)
			switch {
			case !refs.IsReference(v):
				errs = append(errs, config.Invalidf(name, "must be a {{resolve:secretsmanager:...}} or {{resolve:ssm-secure:...}} reference, never the secret itself (the value is not shown)"))
			case err != nil:
				errs = append(errs, config.Invalidf(name, "%w", err))
			case r.Kind == refs.KindSSM:
				errs = append(errs, config.Invalidf(name, "a secret is a SecureString parameter: use {{resolve:ssm-secure:%s}}", r.Name))
			}
		}
	}
	if c.SlackSecretsRefresh < time.Second || c.SlackSecretsRefresh > 24*time.Hour {
		errs = append(errs, config.Invalidf("SlackSecretsRefresh", "must be 1s..24h, got %s", c.SlackSecretsRefresh))
	}
	if c.SigningSecretOverlap < 0 || c.SigningSecretOverlap > 7*24*time.Hour {
		errs = append(errs, config.Invalidf("SigningSecretOverlap", "must be 0..168h, got %s", c.SigningSecretOverlap))
	}
	if c.AWSEndpoint != "" {
		if u, err := url.Parse(c.AWSEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, config.Invalidf("AWSEndpoint", "%q is not an http(s) URL", c.AWSEndpoint))
		}
	}
	return errs
}
