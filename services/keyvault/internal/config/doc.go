// Package config is keyvault's typed configuration: the shared settings
// (docs/conventions.md) plus the secrets policy, audit log, principal key
// source, rotation and retention settings.
package config
