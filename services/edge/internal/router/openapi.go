package router

import (
	"encoding/json"
	"fmt"
)

// PublicSpec turns the merged OpenAPI document generated from the protos
// (whose info block is borrowed from whichever proto file came first) into
// the one the edge serves: Rampart's own title and version, and the bearer
// scheme every /v1 route requires.
func PublicSpec(generated []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("parse generated OpenAPI document: %w", err)
	}
	doc["info"] = map[string]any{
		"title":       "Rampart API",
		"version":     "v1",
		"description": "REST routes of the Rampart services, served by the edge. The OpenAI-compatible routes (/v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings, /v1/models) follow OpenAI's published API.",
	}
	doc["securityDefinitions"] = map[string]any{
		"bearer": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "Authorization: Bearer rk_..."},
	}
	doc["security"] = []any{map[string]any{"bearer": []any{}}}
	return json.MarshalIndent(doc, "", "  ")
}
