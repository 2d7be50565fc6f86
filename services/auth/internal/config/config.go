package config

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
)

// Config is auth's configuration. Environment variables are
// RAMPART_AUTH_<NAME>; flags of the same name in kebab case win.
type Config struct {
	config.Common

	DatabaseURL        string        `env:"DATABASE_URL" flag:"database-url" usage:"postgres://... selects PostgreSQL; empty uses SQLite (auth.db) in the data dir"`
	SigningKEKFile     string        `env:"SIGNING_KEK_FILE" flag:"signing-kek-file" usage:"key-encryption key sealing the signing keys (default $DATA_DIR/signing-kek, created 0600)"`
	KeyDefaultTTL      time.Duration `env:"KEY_DEFAULT_TTL" flag:"key-default-ttl" default:"2160h" usage:"API key lifetime when none is asked"`
	KeyMaxTTL          time.Duration `env:"KEY_MAX_TTL" flag:"key-max-ttl" default:"8760h" usage:"longest API key lifetime"`
	RotationOverlap    time.Duration `env:"ROTATION_OVERLAP" flag:"rotation-overlap" default:"336h" usage:"default overlap during which a rotated key keeps working"`
	TenantGrace        time.Duration `env:"TENANT_GRACE" flag:"tenant-grace" default:"168h" usage:"grace period between deleting and purging a tenant"`
	SigningKeyRotation time.Duration `env:"SIGNING_KEY_ROTATION" flag:"signing-key-rotation" default:"720h" usage:"how often the principal signing key rotates"`
	SweepInterval      time.Duration `env:"SWEEP_INTERVAL" flag:"sweep-interval" default:"500ms" usage:"expiry/purge sweep period (keep under 1s: expiry must reach the edge within a second)"`
}

// Default returns the defaults.
func Default() Config { return Config{Common: config.Defaults("auth")} }

// Finalize derives the data-dir dependent paths.
func (c *Config) Finalize() error {
	if err := c.Common.Finalize(); err != nil {
		return err
	}
	if c.SigningKEKFile == "" && c.DataDir != "" {
		c.SigningKEKFile = filepath.Join(c.DataDir, "signing-kek")
	}
	return nil
}

// Validate checks every setting and reports all problems at once. The
// database URL is never echoed (it may hold a password).
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, config.Invalidf("DatabaseURL", "must be a postgres:// or postgresql:// URL"))
	}
	pos := func(field string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, config.Invalidf(field, "must be positive"))
		}
	}
	pos("KeyDefaultTTL", c.KeyDefaultTTL)
	pos("KeyMaxTTL", c.KeyMaxTTL)
	pos("RotationOverlap", c.RotationOverlap)
	pos("TenantGrace", c.TenantGrace)
	pos("SigningKeyRotation", c.SigningKeyRotation)
	pos("SweepInterval", c.SweepInterval)
	if c.KeyDefaultTTL > c.KeyMaxTTL {
		errs = append(errs, config.Invalidf("KeyDefaultTTL", "must not exceed the max TTL %s", c.KeyMaxTTL))
	}
	if c.SigningKeyRotation > 0 && c.SigningKeyRotation < 10*time.Minute {
		errs = append(errs, config.Invalidf("SigningKeyRotation", "must be at least 10m (assertions live 5m)"))
	}
	if c.SweepInterval > time.Second {
		errs = append(errs, config.Invalidf("SweepInterval", "must be at most 1s"))
	}
	return errors.Join(errs...)
}

// Load reads the configuration from the environment and args.
func Load(args []string) (Config, error) {
	cfg := Default()
	err := config.Load(config.Prefix("auth"), &cfg, args)
	return cfg, err
}

// LoadWith is Load with an explicit environment, for tests.
func LoadWith(args []string, env map[string]string) (Config, error) {
	cfg := Default()
	err := config.LoadWith(config.Prefix("auth"), &cfg, args, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	return cfg, err
}
