// Package config is the ingestion service's typed configuration
// (RAMPART_INGESTION_* environment variables and flags).
package config
