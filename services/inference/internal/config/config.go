package config

import (
	"embed"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/redisconf"
)

// Service is this service's name.
const Service = "inference"

//go:embed authz_default.json
var defaults embed.FS

// DefaultAuthzPolicy is the embedded per-method caller allow-list: the edge
// and internal services may call the API; the operator CLI may read usage.
func DefaultAuthzPolicy() []byte {
	b, _ := defaults.ReadFile("authz_default.json")
	return b
}

// Config is the inference configuration.
type Config struct {
	config.Common

	AuthAddr       string `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" default:"127.0.0.1:7001" usage:"auth gRPC address (principal verification keys)"`
	ModelsFile     string `env:"MODELS" flag:"models" usage:"model registry JSON file; without it the offline local models are served to every tenant"`
	ToolPolicyFile string `env:"TOOL_POLICY" flag:"tool-policy" usage:"tool-call allow-list JSON file; without it no tool may be offered (default deny)"`
	// DatabaseURL is the store (usage, prompt logs, ...): the name every
	// service uses (RAMPART_<SVC>_DATABASE_URL).
	DatabaseURL string `env:"DATABASE_URL" flag:"database-url" usage:"store: postgres:// URL, or a SQLite file path (default $DATA_DIR/usage.db)"`
	// UsageDSN is the deprecated name of DatabaseURL, still accepted (a
	// warning is logged at start). After Finalize it holds the resolved
	// store DSN, whichever name set it.
	UsageDSN string `env:"USAGE_DSN" flag:"usage-dsn" usage:"deprecated: use DATABASE_URL"`
	// deprecated lists the deprecated settings in use (see WarnDeprecated).
	deprecated []string
	// IngestionAddr is where chats with rampart.collections search the
	// tenant's documents ("" turns retrieval off: such chats answer
	// without documents and say so in rampart.warning).
	IngestionAddr string `env:"RAMPART_INGESTION_ADDR,noprefix" flag:"ingestion-addr" default:"127.0.0.1:7004" usage:"ingestion gRPC address, searched for chats with rampart.collections (empty: retrieval off)"`
	KeyvaultAddr  string `env:"RAMPART_KEYVAULT_ADDR,noprefix" flag:"keyvault-addr" default:"127.0.0.1:7002" usage:"keyvault gRPC address; dialled only when an upstream's API key is a keyvault secret or a tenant has prompt logging on"`
	// Settings (RAMPART_REDIS_URL or RAMPART_REDIS_CLUSTER_URL), when set,
	// keep the tokens-per-minute buckets and monthly budget counters in
	// Redis so every inference replica enforces the same limits (ADR 0095).
	redisconf.Settings
	// SecretsCacheTTL is how long an upstream API key read from keyvault is
	// reused; a rotated key is picked up within it (or at once after the
	// upstream rejects the old key).
	SecretsCacheTTL time.Duration `env:"SECRETS_CACHE_TTL" flag:"secrets-cache-ttl" default:"5m" usage:"how long upstream API keys read from keyvault are cached (rotation is picked up within it)"`
	// Retention (internal/retention): raw usage rows are rolled up per
	// key, model and hour after UsageRawRetention, hourly rows per day
	// after UsageHourlyRetention; prompt logs are deleted after
	// PromptLogRetention unless the tenant's registry entry sets
	// prompt_log_retention_days.
	UsageRawRetention    time.Duration `env:"USAGE_RAW_RETENTION" flag:"usage-raw-retention" default:"168h" usage:"age after which per-request usage rows are rolled up per key, model and hour"`
	UsageHourlyRetention time.Duration `env:"USAGE_HOURLY_RETENTION" flag:"usage-hourly-retention" default:"2160h" usage:"age after which hourly usage rows are rolled up per key, model and day (daily rows are kept)"`
	PromptLogRetention   time.Duration `env:"PROMPT_LOG_RETENTION" flag:"prompt-log-retention" default:"720h" usage:"age after which prompt logs are deleted (a tenant's prompt_log_retention_days in the model registry wins)"`
	RetentionInterval    time.Duration `env:"RETENTION_INTERVAL" flag:"retention-interval" default:"10m" usage:"how often the retention sweeper runs (one replica at a time, by lease)"`
}

// Load reads the configuration from the environment and args.
func Load(args []string) (*Config, error) {
	cfg := &Config{Common: config.Defaults(Service)}
	if err := config.Load(config.Prefix(Service), cfg, args); err != nil {
		return nil, err
	}
	return cfg, nil
}

// AuthTarget tells pkg/backend where auth is (flag or RAMPART_AUTH_ADDR).
func (c *Config) AuthTarget() string { return c.AuthAddr }

// Finalize derives defaults from other settings.
func (c *Config) Finalize() error {
	if err := c.Common.Finalize(); err != nil {
		return err
	}
	switch {
	case c.DatabaseURL != "" && c.UsageDSN != "" && c.UsageDSN != c.DatabaseURL:
		c.deprecated = append(c.deprecated, "RAMPART_INFERENCE_USAGE_DSN (-usage-dsn) is deprecated and ignored: RAMPART_INFERENCE_DATABASE_URL is set and wins")
	case c.DatabaseURL == "" && c.UsageDSN != "":
		c.deprecated = append(c.deprecated, "RAMPART_INFERENCE_USAGE_DSN (-usage-dsn) is deprecated: rename it to RAMPART_INFERENCE_DATABASE_URL (-database-url)")
		c.DatabaseURL = c.UsageDSN
	case c.DatabaseURL == "" && c.DataDir != "":
		c.DatabaseURL = filepath.Join(c.DataDir, "usage.db")
	}
	c.UsageDSN = c.DatabaseURL
	return nil
}

// Deprecations returns a warning per deprecated setting in use.
func (c *Config) Deprecations() []string { return c.deprecated }

// WarnDeprecated logs the deprecation warnings (at start).
func (c *Config) WarnDeprecated(log *slog.Logger) {
	for _, w := range c.deprecated {
		log.Warn("deprecated setting", "warning", w)
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if err := config.CheckBackendAddr(c.AuthAddr); err != nil {
		errs = append(errs, config.Invalidf("AuthAddr", "%w", err))
	}
	if c.UsageDSN == "" {
		errs = append(errs, config.Invalidf("DatabaseURL", "required"))
	}
	if c.IngestionAddr != "" {
		if err := config.CheckBackendAddr(c.IngestionAddr); err != nil {
			errs = append(errs, config.Invalidf("IngestionAddr", "%w", err))
		}
	}
	if c.KeyvaultAddr != "" {
		if err := config.CheckBackendAddr(c.KeyvaultAddr); err != nil {
			errs = append(errs, config.Invalidf("KeyvaultAddr", "%w", err))
		}
	}
	errs = append(errs, c.RedisErrors()...)
	if c.SecretsCacheTTL < time.Second || c.SecretsCacheTTL > time.Hour {
		errs = append(errs, config.Invalidf("SecretsCacheTTL", "must be between 1s and 1h, got %s", c.SecretsCacheTTL))
	}
	if c.UsageRawRetention < time.Hour {
		errs = append(errs, config.Invalidf("UsageRawRetention", "must be at least 1h, got %s", c.UsageRawRetention))
	}
	if c.UsageHourlyRetention < c.UsageRawRetention+24*time.Hour {
		errs = append(errs, config.Invalidf("UsageHourlyRetention", "must be at least a day longer than UsageRawRetention (%s), got %s", c.UsageRawRetention, c.UsageHourlyRetention))
	}
	if c.PromptLogRetention < time.Hour {
		errs = append(errs, config.Invalidf("PromptLogRetention", "must be at least 1h, got %s", c.PromptLogRetention))
	}
	if c.RetentionInterval < time.Second || c.RetentionInterval > 24*time.Hour {
		errs = append(errs, config.Invalidf("RetentionInterval", "must be between 1s and 24h, got %s", c.RetentionInterval))
	}
	return errors.Join(errs...)
}
