// Package admin serves the edge's operational endpoints on the admin
// listener: /metrics (Prometheus), /healthz (process alive) and /readyz
// (auth reachable and not draining).
package admin
