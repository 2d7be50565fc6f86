// Package config is the edge's typed configuration: the shared settings of
// pkg/config plus the public listener, the backends' dial targets, Redis,
// TLS termination, CORS, the key cache and the rate-limit defaults. Every
// setting is an environment variable (RAMPART_EDGE_* or a shared RAMPART_*)
// and a flag; Validate reports every problem at once.
package config
