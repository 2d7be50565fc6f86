// Package config is the slackadapter service's typed configuration.
package config

import "github.com/rampart-platform/rampart/pkg/config"

// Config is loaded from RAMPART_INGESTION_* and flags.
type Config struct {
	config.Common
}

// Default returns the defaults from docs/conventions.md.
func Default() *Config { return &Config{Common: config.Defaults("slackadapter")} }
