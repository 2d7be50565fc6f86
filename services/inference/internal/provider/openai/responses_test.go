package openai_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/openai"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// An upstream Responses stream ends normally only with response.completed
// or response.incomplete: response.failed, an error event and a cut
// stream are errors (never a finished answer), and a failed response's
// message stays inside.
func TestStreamResponsesEnds(t *testing.T) {
	created := "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"status\":\"in_progress\"}}\n\n"
	tests := []struct {
		name, body string
		events     int
		fails      bool // with 503 Unavailable
	}{
		{"completed", created + "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":1,\"response\":{\"status\":\"completed\",\"output\":[]}}\n\n", 2, false},
		{"cut short", created, 1, true},
		{"failed", created + "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"org-secret broke\"}}}\n\n", 1, true},
		{"error event", created + "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"org-secret\",\"param\":null}\n\n", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "/v1/responses", r.URL.Path)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(up.Close)
			p, err := openai.New(openai.Config{BaseURL: up.URL + "/v1", MaxRetries: -1})
			require.NoError(t, err)
			n := 0
			err = p.StreamResponses(t.Context(), &provider.ResponsesCall{UpstreamModel: "m", Request: &wire.NativeRequest{}},
				func(*provider.Event) error { n++; return nil })
			require.Equal(t, tt.events, n)
			if !tt.fails {
				require.NoError(t, err)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apierr.KindUnavailable, e.Kind)
			require.NotContains(t, e.Message, "org-secret")
		})
	}
}
