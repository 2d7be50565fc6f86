// Command inference runs Rampart's inference service: OpenAI-compatible chat
// completions and embeddings over mTLS gRPC, with providers, quotas, usage
// and tool policy (see internal/inference).
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/inference/internal/app"
)

func main() { backend.Main("inference", app.Run) }
