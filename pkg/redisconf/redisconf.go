package redisconf

import (
	"errors"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/rampart-platform/rampart/pkg/config"
)

// Settings say where the shared Redis is; embed it in a service's config.
// At most one of the two is set; neither keeps the service's limits in its
// own memory (one replica).
type Settings struct {
	// RedisURL is one Redis server: redis://[user:password@]host:port[/db],
	// rediss:// for TLS, or unix:///path.
	RedisURL string `env:"RAMPART_REDIS_URL,noprefix" flag:"redis-url" usage:"redis://, rediss:// or unix:// URL of one Redis; when set, limits are shared by every replica through it"`
	// RedisClusterURL lists a Redis Cluster's nodes in go-redis's cluster
	// URL form, redis://[user:password@]host:port?addr=host2:port&addr=host3:port
	// (rediss:// for TLS). Every multi-key script keeps its keys under the
	// tenant's hash tag, so it runs in one slot (ADR 0086, 0095).
	RedisClusterURL string `env:"RAMPART_REDIS_CLUSTER_URL,noprefix" flag:"redis-cluster-url" usage:"redis://host:port?addr=host2:port&addr=host3:port — a Redis Cluster's nodes; when set (instead of RAMPART_REDIS_URL), limits are shared through the cluster"`
}

// RedisEnabled reports whether a Redis (server or cluster) is configured.
func (s Settings) RedisEnabled() bool { return s.RedisURL != "" || s.RedisClusterURL != "" }

// RedisCluster reports whether the configured Redis is a cluster.
func (s Settings) RedisCluster() bool { return s.RedisClusterURL != "" }

// RedisErrors checks the settings for a service's Validate: each a
// config.FieldError naming the setting, none quoting its value.
func (s Settings) RedisErrors() []error {
	var errs []error
	if s.RedisURL != "" {
		if _, err := redis.ParseURL(s.RedisURL); err != nil || !validScheme(s.RedisURL, "unix") {
			errs = append(errs, config.Invalidf("RedisURL", "must be a redis://, rediss:// or unix:// URL"))
		}
	}
	if s.RedisClusterURL != "" {
		if _, err := redis.ParseClusterURL(s.RedisClusterURL); err != nil || !validScheme(s.RedisClusterURL) {
			errs = append(errs, config.Invalidf("RedisClusterURL", "must be redis://host:port?addr=host2:port&addr=host3:port (or rediss://)"))
		}
		if s.RedisURL != "" {
			errs = append(errs, config.Invalidf("RedisClusterURL", "set RAMPART_REDIS_URL (one Redis) or RAMPART_REDIS_CLUSTER_URL (a cluster), not both"))
		}
	}
	return errs
}

// validScheme reports whether raw is a redis:// or rediss:// URL, or one
// of the extra schemes.
func validScheme(raw string, extra ...string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "redis", "rediss":
		return true
	}
	for _, s := range extra {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// RedisClient returns the client of the configured Redis: a cluster client for
// RedisClusterURL, a single-server client for RedisURL, and nil (no error)
// when neither is set. The caller closes it.
func (s Settings) RedisClient() (redis.UniversalClient, error) {
	if err := errors.Join(s.RedisErrors()...); err != nil {
		return nil, err
	}
	switch {
	case s.RedisClusterURL != "":
		opts, err := redis.ParseClusterURL(s.RedisClusterURL)
		if err != nil {
			return nil, errors.New("RAMPART_REDIS_CLUSTER_URL: not a cluster URL (not shown: it may hold a password)")
		}
		return redis.NewClusterClient(opts), nil
	case s.RedisURL != "":
		opts, err := redis.ParseURL(s.RedisURL)
		if err != nil {
			return nil, errors.New("RAMPART_REDIS_URL: not a redis:// URL (not shown: it may hold a password)")
		}
		return redis.NewClient(opts), nil
	}
	return nil, nil
}
