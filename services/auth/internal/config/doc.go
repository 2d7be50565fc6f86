// Package config is auth's typed configuration: the shared settings of
// pkg/config (RAMPART_AUTH_LISTEN_ADDR, ADMIN_ADDR, DATA_DIR, ...) plus the
// store (RAMPART_AUTH_DATABASE_URL selects PostgreSQL), key lifetimes,
// rotation overlap, tenant grace period and signing-key rotation, each with
// a flag of the same name in kebab case. Validate reports every bad setting
// at once and never echoes the database URL.
package config
