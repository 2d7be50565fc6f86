package config

import (
	"errors"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// Config is loaded from RAMPART_INGESTION_* and flags.
type Config struct {
	config.Common

	Workers           int           `env:"WORKERS" flag:"workers" default:"2" usage:"ingestion jobs processed concurrently"`
	EmbedDims         int           `env:"EMBED_DIMS" flag:"embed-dims" default:"768" usage:"dimensions of the hash embedding (a change re-embeds hash collections on their next search)"`
	ChunkTokens       int           `env:"CHUNK_TOKENS" flag:"chunk-tokens" default:"300" usage:"target chunk size in approximate tokens"`
	ChunkOverlap      int           `env:"CHUNK_OVERLAP" flag:"chunk-overlap" default:"50" usage:"tokens of trailing sentences repeated in the next chunk"`
	AllowPrivate      bool          `env:"FETCH_ALLOW_PRIVATE" flag:"fetch-allow-private" usage:"dev profile only: allow URL ingestion and crawls from loopback, private and link-local addresses (SSRF guard off for those); refused with RAMPART_PROFILE=prod"`
	CrawlMaxPages     int           `env:"CRAWL_MAX_PAGES" flag:"crawl-max-pages" default:"200" usage:"most pages one crawl may ask for (1-1000)"`
	FetchTimeout      time.Duration `env:"FETCH_TIMEOUT" flag:"fetch-timeout" default:"30s" usage:"bound on one URL fetch"`
	EmbedRetryDelay   time.Duration `env:"EMBED_RETRY_DELAY" flag:"embed-retry-delay" default:"1m" usage:"first wait before a job whose embedding model was unavailable runs again (doubled per attempt, up to 30m, 8 attempts)"`
	KeyTTL            time.Duration `env:"KEY_TTL" flag:"key-ttl" default:"10m" usage:"how long an unwrapped tenant key is used before keyvault is asked again (a crypto-shred takes effect within it)"`
	KeyCacheSize      int           `env:"KEY_CACHE" flag:"key-cache" default:"4096" usage:"tenant data keys kept unwrapped in memory"`
	VectorCollections int           `env:"VECTOR_CACHE" flag:"vector-cache" default:"256" usage:"collections whose vectors are kept decrypted in memory for search"`
	// DatabaseURL selects PostgreSQL, which several replicas share (the
	// job queue is claimed with leases; search indexes are rebuilt from
	// it when another replica changed a collection); empty keeps the
	// embedded SQLite file in the data dir.
	DatabaseURL        string        `env:"DATABASE_URL" flag:"database-url" usage:"postgres://... selects PostgreSQL (several replicas may share it); empty uses SQLite (ingestion.db) in the data dir"`
	DBMaxConns         int           `env:"DB_MAX_CONNS" flag:"db-max-conns" default:"16" usage:"PostgreSQL: connections per replica"`
	DBStatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" flag:"db-statement-timeout" default:"30s" usage:"PostgreSQL: the server cancels statements running longer"`
	JobLease           time.Duration `env:"JOB_LEASE" flag:"job-lease" default:"2m" usage:"a claimed job is this replica's for this long without renewal (renewed every third of it while it runs); the job of a replica that died is retaken after it"`
	Replica            string        `env:"REPLICA" flag:"replica" usage:"this replica's name in job leases (default: the host name, the pod name on Kubernetes)"`
	Rechunk            int           `env:"RECHUNK_CONCURRENCY" flag:"rechunk-concurrency" default:"1" usage:"documents of an older chunker re-chunked at once from their stored text, per replica (ADR 0127); 0 turns re-chunking off"`
	ANNThreshold       int           `env:"ANN_THRESHOLD" flag:"ann-threshold" default:"100000" usage:"chunks from which a collection's vector search uses an HNSW graph (built in memory in the background; exact search until it is ready); 0 turns it off"`
}

// Default returns the defaults from docs/conventions.md.
func Default() *Config { return &Config{Common: config.Defaults("ingestion")} }

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	check := func(ok bool, field, msg string) {
		if !ok {
			errs = append(errs, config.Invalidf(field, "%s", msg))
		}
	}
	check(c.Workers >= 1 && c.Workers <= 64, "Workers", "must be between 1 and 64")
	check(c.EmbedDims >= 16 && c.EmbedDims <= 4096, "EmbedDims", "must be between 16 and 4096")
	check(c.ChunkTokens >= 32 && c.ChunkTokens <= 8192, "ChunkTokens", "must be between 32 and 8192")
	check(c.ChunkOverlap >= 0 && c.ChunkOverlap < c.ChunkTokens, "ChunkOverlap", "must be at least 0 and less than the chunk size")
	check(c.FetchTimeout > 0, "FetchTimeout", "must be positive")
	// The SSRF guard is not optional in production: loopback, private and
	// link-local targets (cloud metadata, internal services) stay refused.
	check(!c.AllowPrivate || !c.Prod(), "AllowPrivate", "is for the dev profile and tests only; it cannot be enabled with the prod profile")
	check(c.CrawlMaxPages >= 1 && c.CrawlMaxPages <= 1000, "CrawlMaxPages", "must be between 1 and 1000")
	check(c.KeyCacheSize >= 1, "KeyCacheSize", "must be at least 1")
	check(c.KeyTTL >= time.Second, "KeyTTL", "must be at least 1s")
	check(c.VectorCollections >= 1, "VectorCollections", "must be at least 1")
	// The value may hold a password: never echo it.
	check(c.DatabaseURL == "" || pstore.IsPostgresURL(c.DatabaseURL), "DatabaseURL", "must be a postgres:// or postgresql:// URL (empty: SQLite in the data dir)")
	check(c.DBMaxConns >= 1 && c.DBMaxConns <= 1000, "DBMaxConns", "must be 1-1000")
	check(c.DBStatementTimeout >= 100*time.Millisecond, "DBStatementTimeout", "must be at least 100ms")
	check(c.Rechunk >= 0 && c.Rechunk <= c.Workers, "Rechunk", "must be between 0 and the workers")
	check(c.JobLease >= 3*time.Second && c.JobLease <= time.Hour, "JobLease", "must be between 3s and 1h")
	return errors.Join(errs...)
}
