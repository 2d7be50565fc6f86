package openai

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
)

// BenchmarkReadSSE is the SSE reader alone on a 64-delta answer held in
// memory: the framing and chunk decoding, without HTTP.
func BenchmarkReadSSE(b *testing.B) {
	const hello = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
	body := []byte(strings.Repeat(hello, 64) +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":64,\"total_tokens\":67}}\n\n" +
		"data: [DONE]\n\n")
	emit := func(*provider.Delta) error { return nil }
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(body))}
		if err := readSSE(resp, emit); err != nil {
			b.Fatal(err)
		}
	}
}
