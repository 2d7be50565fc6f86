package openai_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/openai"
)

const chatAnswer = `{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a fixed reply from the fake upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23}}`

const chatBody = `{"model":"m","messages":[{"role":"user","content":"Say hello."}]}`

func benchProvider(b *testing.B, h http.HandlerFunc) *openai.Provider {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: 2})
	require.NoError(b, err)
	return p
}

// BenchmarkChat is one non-streamed completion through the provider
// (retry wrapper, request, decode) against a local upstream.
func BenchmarkChat(b *testing.B) {
	p := benchProvider(b, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, chatAnswer)
	})
	c := call(b, chatBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream relays a 64-delta SSE answer.
func BenchmarkStream(b *testing.B) {
	body := strings.Repeat(sseHello, 64) + sseStop + sseUsage + sseDone
	p := benchProvider(b, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	})
	c := call(b, chatBody)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := p.Stream(b.Context(), c, func(d *provider.Delta) error { n += len(d.Content); return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 64*len("hello") {
			b.Fatalf("relayed %d bytes", n)
		}
	}
}

// BenchmarkStreamFirstDelta is the time from the call to the first delta
// when the upstream sends one event and then holds the stream open: a
// reader that buffered before parsing would never deliver it. The caller
// then hangs up, as a client that goes away does.
func BenchmarkStreamFirstDelta(b *testing.B) {
	p := benchProvider(b, holdAfterFirst)
	c := call(b, chatBody)
	b.ReportAllocs()
	for b.Loop() {
		if got := firstDelta(b.Context(), p, c); got != "hello" {
			b.Fatalf("first delta %q", got)
		}
	}
}

// firstDelta streams c and cancels the call at the first content delta
// (the empty one before it only says the upstream accepted the stream).
func firstDelta(ctx context.Context, p *openai.Provider, c *provider.ChatCall) string {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := ""
	_ = p.Stream(ctx, c, func(d *provider.Delta) error {
		if d.Content == "" {
			return nil
		}
		got = d.Content
		cancel()
		return ctx.Err()
	})
	return got
}

// holdAfterFirst sends one content event, flushes it and holds the stream
// open until the client goes away.
func holdAfterFirst(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, sseHello)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	<-r.Context().Done()
}

// TestStreamFirstDeltaIsNotBuffered: the first event reaches emit while the
// upstream still holds the stream open.
func TestStreamFirstDeltaIsNotBuffered(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(holdAfterFirst))
	defer srv.Close()
	p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: -1, Timeout: 10 * time.Second})
	require.NoError(t, err)
	start := time.Now()
	require.Equal(t, "hello", firstDelta(t.Context(), p, call(t, chatBody)))
	require.Less(t, time.Since(start), 5*time.Second, "the first delta arrived before the upstream ended the stream")
}
