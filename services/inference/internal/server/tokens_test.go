package server_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// When an OpenAI-compatible upstream reports no usage, OpenAI-style models
// are counted with tiktoken (offline vocabularies), others estimated.
func TestTokenCountingWithoutProviderUsage(t *testing.T) {
	fake := &openaitest.Upstream{NoUsage: true}
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	reg := `{
  "upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "max_retries": -1}},
  "models": [
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini"},
    {"id": "gpt-cl100k", "upstream": "fake", "upstream_model": "gpt-4"},
    {"id": "llama", "upstream": "fake", "upstream_model": "llama3.1:8b"}
  ]
}`
	srv := servertest.Start(t, servertest.Options{Models: []byte(reg)})
	e := &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))}
	tests := []struct {
		model, msg         string
		prompt, completion int
	}{
		// 3 (primer) + 3 (message) + tokens of the text; the fake echoes it.
		{"gpt-fake", "hello world", 3 + 3 + 2, 2},
		{"gpt-cl100k", "tiktoken is great!", 3 + 3 + 6, 6},
		// Estimate: 3 + 4 per message + ceil(bytes/4).
		{"llama", "tiktoken is great!", 3 + 4 + 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody(tt.model, tt.msg, "")})
			require.NoError(t, err)
			var raw map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(resp.GetBody(), &raw))
			var u map[string]int
			require.NoError(t, json.Unmarshal(raw["usage"], &u))
			require.Equal(t, tt.prompt, u["prompt_tokens"])
			require.Equal(t, tt.completion, u["completion_tokens"])
		})
	}
}
