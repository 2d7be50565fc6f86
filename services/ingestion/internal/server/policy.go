package server

import (
	_ "embed"
)

//go:embed policy.json
var defaultPolicy []byte

// DefaultPolicy is the embedded per-method caller allow-list of
// IngestionService (pkg/authz JSON): the edge for every method, inference
// for Search and ListCollections, slackadapter for ListCollections. It must
// equal pkg/permissions' callers (permissions_test.go).
func DefaultPolicy() []byte { return defaultPolicy }
