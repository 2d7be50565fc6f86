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

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/openai"
)

const (
	sseHello  = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
	sseStop   = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
	sseUsage  = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n"
	sseDone   = "data: [DONE]\n\n"
	leakCanon = "org-SECRETORG sk-upstream-LEAK"
)

// Issue 10: an upstream stream that ends without [DONE], or that reports an
// error event, is an error for the client, never finish_reason "stop".
func TestStreamEndings(t *testing.T) {
	cases := []struct {
		name string
		body string
		// wantErr "": the stream ends normally with finish "stop".
		wantErr  string
		wantText string
	}{
		{"complete", sseHello + sseStop + sseUsage + sseDone, "", "hello"},
		{"done without space", sseHello + sseStop + "data:[DONE]\n\n", "", "hello"},
		{"error: null is not an error", "data: {\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n" + sseStop + sseDone, "", "hello"},
		{"no [DONE] after stop", sseHello + sseStop + sseUsage, "ended before it was complete", "hello"},
		{"cut mid-answer", sseHello, "ended before it was complete", "hello"},
		{"empty body", "", "ended before it was complete", ""},
		{"error event (OpenAI shape)", sseHello + "data: {\"error\":{\"message\":\"quota for " + leakCanon + "\",\"type\":\"server_error\",\"code\":\"rate_limit_exceeded\"}}\n\n",
			"(rate_limit_exceeded)", "hello"},
		{"error event then [DONE]", sseHello + "data: {\"error\":{\"message\":\"" + leakCanon + "\",\"type\":\"invalid_request_error\",\"code\":null}}\n\n" + sseDone,
			"(invalid_request_error)", "hello"},
		{"error event with odd code", "data: {\"error\":{\"message\":\"" + leakCanon + "\",\"code\":\"Bad Code <x>\"}}\n\n",
			"reported an error during the stream;", ""},
		{"event: error", sseHello + "event: error\ndata: {\"message\":\"" + leakCanon + "\"}\n\n" + sseDone, "reported an error during the stream", "hello"},
		// Framing (openai-go's SSE decoder, ADR 0048).
		{"comments, id and retry fields are skipped", ": keep-alive\n\n" + "id: 7\nretry: 1000\n" + sseHello + ": ping\n\n" + sseStop + sseDone, "", "hello"},
		{"CRLF line ends", strings.ReplaceAll(sseHello+sseStop+sseDone, "\n", "\r\n"), "", "hello"},
		{"no space after data:", "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n" + sseStop + sseDone, "", "hi"},
		{"one event's data over two lines", "data: {\"choices\":[{\"index\":0,\ndata: \"delta\":{\"content\":\"two\"}}]}\n\n" + sseStop + sseDone, "", "two"},
		{"[DONE] without its blank line is cut short", sseHello + sseStop + "data: [DONE]\n", "ended before it was complete", "hello"},
		{"event: error resets at the blank line", "event: error\n\n" + sseHello + sseStop + sseDone, "", "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: -1})
			require.NoError(t, err)
			var text, finish string
			err = p.Stream(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`), func(d *provider.Delta) error {
				text += d.Content
				if d.FinishReason != "" {
					finish = d.FinishReason
				}
				return nil
			})
			require.Equal(t, tc.wantText, text)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, "stop", finish)
				return
			}
			require.Error(t, err)
			require.Empty(t, finish, "a failed stream must not finish")
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apierr.KindUnavailable, e.Kind)
			require.Contains(t, e.Message, tc.wantErr)
			require.NotContains(t, e.Message, "SECRETORG", "the upstream's message stays inside")
			require.NotContains(t, e.Message, "LEAK")
		})
	}
}

// TestStreamAcceptedBeforeFirstEvent (ADR 0080): once the upstream answered
// 2xx with an event stream, an empty delta says so before any event is
// read — the upstream below holds its events back until that delta came,
// so a provider waiting for the first event would never get one (the
// call's deadline ends the test). Any other answer gets no such delta.
func TestStreamAcceptedBeforeFirstEvent(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		contentType string
		// held: the upstream sends its events only after the first delta.
		held bool
		want []string // the deltas: "" accepted, "c:<text>", "f:<finish>"
		// wantErr: the call fails (an error status) with no delta.
		wantErr bool
	}{
		{"event stream", http.StatusOK, "text/event-stream", true, []string{"", "c:hello", "f:stop"}, false},
		{"OpenAI's content type", http.StatusOK, "text/event-stream; charset=utf-8", true, []string{"", "c:hello", "f:stop"}, false},
		{"content type in capitals", http.StatusOK, "Text/Event-Stream", true, []string{"", "c:hello", "f:stop"}, false},
		{"not an event stream: no early start", http.StatusOK, "application/json", false, []string{"c:hello", "f:stop"}, false},
		{"error status: no start", http.StatusServiceUnavailable, "application/json", false, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			if !tc.held {
				close(release)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				if tc.status != http.StatusOK {
					_, _ = io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
					return
				}
				if f, ok := w.(http.Flusher); ok {
					f.Flush() // the headers alone
				}
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, sseHello+sseStop+sseDone)
			}))
			defer srv.Close()
			p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: -1})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a hang's end, not a timing bound
			defer cancel()
			var got []string
			err = p.Stream(ctx, call(t, chatBody), func(d *provider.Delta) error {
				switch {
				case d.Content != "":
					got = append(got, "c:"+d.Content)
				case d.FinishReason != "":
					got = append(got, "f:"+d.FinishReason)
				default:
					got = append(got, "")
					if tc.held {
						close(release)
					}
				}
				return nil
			})
			require.Equal(t, tc.want, got)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
		})
	}
}
