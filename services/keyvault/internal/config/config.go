package config

import (
	"errors"
	"net/url"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// Config is keyvault's configuration.
type Config struct {
	config.Common

	DatabaseURL        string        `env:"DATABASE_URL" flag:"database-url" usage:"postgres://... selects PostgreSQL (several replicas may share it); empty uses SQLite (keyvault.db) in the data dir"`
	DBMaxConns         int           `env:"DB_MAX_CONNS" flag:"db-max-conns" default:"16" usage:"PostgreSQL: connections per replica (plus 4 for audit appends)"`
	DBStatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" flag:"db-statement-timeout" default:"30s" usage:"PostgreSQL: the server cancels statements running longer"`
	Env                string        `env:"ENV" flag:"env" default:"dev" usage:"deployment environment; {env} in policy name patterns"`
	SecretsPolicy      string        `env:"SECRETS_POLICY" flag:"secrets-policy" usage:"secret access policy (JSON), hot-reloaded; embedded default when unset"`
	KeyDir             string        `env:"KEY_DIR" flag:"key-dir" usage:"directory of master.key (local KMS) and audit.key (default: the data dir); replicas must read the same files, e.g. one Kubernetes Secret mounted read-only"`
	AuditLog           string        `env:"AUDIT_LOG" flag:"audit-log" usage:"audit log file (default <data-dir>/audit.log)"`
	AuditFsync         bool          `env:"AUDIT_FSYNC" flag:"audit-fsync" usage:"fsync every audit batch before answering"`
	AuditRetention     time.Duration `env:"AUDIT_RETENTION" flag:"audit-retention" usage:"age after which audit chain links (PostgreSQL) are moved to AUDIT_ARCHIVE and deleted from the database (0: kept forever)"`
	AuditArchive       string        `env:"AUDIT_ARCHIVE" flag:"audit-archive" usage:"where AUDIT_RETENTION moves old audit links: s3://bucket/prefix (AWS settings as for awssm) or a directory (file:///path)"`
	AuthAddr           string        `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" default:"127.0.0.1:7001" usage:"auth gRPC address (principal verification keys)"`
	PrincipalKeys      string        `env:"PRINCIPAL_KEYS" flag:"principal-keys" usage:"JSON file {kid: base64 Ed25519 public key}; when set, keys are not fetched from auth"`
	WebhookAllow       []string      `env:"WEBHOOK_ALLOW" flag:"webhook-allow" usage:"URL prefixes rotation webhooks may call"`
	MaxVersions        int           `env:"MAX_VERSIONS" flag:"max-versions" default:"100" usage:"versions kept per secret (unlabelled ones beyond are pruned)"`
	SchedulerInterval  time.Duration `env:"SCHEDULER_INTERVAL" flag:"scheduler-interval" default:"1m" usage:"how often due rotations and expired deletions are processed"`
	Backend            string        `env:"BACKEND" flag:"backend" default:"sql" usage:"secret storage: sql (embedded, default) or awssm (AWS Secrets Manager + SSM Parameter Store)"`
	KMS                string        `env:"KMS" flag:"kms" default:"local" usage:"key-encryption keys: local (master key file) or awskms (one AWS KMS key per tenant)"`
	KMSAliasPrefix     string        `env:"KMS_ALIAS_PREFIX" flag:"kms-alias-prefix" default:"alias/rampart-tenant-" usage:"awskms: tenant key alias prefix"`
	AWSRegion          string        `env:"AWS_REGION" flag:"aws-region" usage:"AWS region for awssm/awskms (default from the SDK's environment)"`
	AWSEndpoint        string        `env:"AWS_ENDPOINT" flag:"aws-endpoint" usage:"AWS endpoint override (VPC endpoint, or a fake in tests)"`
	TenantEvents       bool          `env:"TENANT_EVENTS" flag:"tenant-events" default:"true" usage:"follow auth's tenant events and crypto-shred purged tenants"`
}

// Finalize derives defaults.
func (c *Config) Finalize() error {
	return c.Common.Finalize()
}

// Validate reports every bad setting.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Env == "" {
		errs = append(errs, config.Invalidf("Env", "required"))
	}
	if c.MaxVersions < 3 || c.MaxVersions > 10000 {
		errs = append(errs, config.Invalidf("MaxVersions", "must be 3-10000"))
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
	if c.SchedulerInterval < time.Second {
		errs = append(errs, config.Invalidf("SchedulerInterval", "must be at least 1s"))
	}
	for _, p := range c.WebhookAllow {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, config.Invalidf("WebhookAllow", "%q is not an http(s) URL prefix", p))
		}
	}
	if c.Backend != "sql" && c.Backend != "awssm" {
		errs = append(errs, config.Invalidf("Backend", "must be sql or awssm, not %q", c.Backend))
	}
	if c.KMS != "local" && c.KMS != "awskms" {
		errs = append(errs, config.Invalidf("KMS", "must be local or awskms, not %q", c.KMS))
	}
	if c.Backend == "awssm" && c.KMS == "local" && c.Profile == config.ProfileProd {
		// Tenants would have no AWS key of their own: their secrets would be
		// under Secrets Manager's account-wide default key, which no
		// tenant's crypto-shred deletes (ADR 0069 §5).
		errs = append(errs, config.Invalidf("KMS", "must be awskms with BACKEND=awssm in the prod profile: "+
			"each tenant's secrets must be under its own key for its crypto-shred to cover them"))
	}
	if c.AuditRetention < 0 || (c.AuditRetention > 0 && c.AuditRetention < time.Minute) {
		errs = append(errs, config.Invalidf("AuditRetention", "must be 0 (keep forever) or at least 1m, got %s", c.AuditRetention))
	}
	if c.AuditRetention > 0 && c.AuditArchive == "" {
		errs = append(errs, config.Invalidf("AuditArchive", "required with AUDIT_RETENTION: audit links are archived before they are deleted"))
	}
	if c.AWSEndpoint != "" {
		if u, err := url.Parse(c.AWSEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, config.Invalidf("AWSEndpoint", "%q is not an http(s) URL", c.AWSEndpoint))
		}
	}
	return errors.Join(errs...)
}

// Load reads the configuration from the environment and args.
func Load(args []string) (Config, error) {
	cfg := Config{Common: config.Defaults("keyvault")}
	err := config.Load(config.Prefix("keyvault"), &cfg, args)
	return cfg, err
}
