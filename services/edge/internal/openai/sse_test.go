package openai_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

var update = flag.Bool("update", false, "rewrite the SSE golden files in testdata/")

var (
	idRE      = regexp.MustCompile(`"id":"chatcmpl-[0-9A-Za-z]+"`)
	createdRE = regexp.MustCompile(`"created":\d+`)
)

// normalize replaces the per-response id and timestamp.
func normalize(b []byte) string {
	s := idRE.ReplaceAllString(string(b), `"id":"chatcmpl-ID"`)
	return createdRE.ReplaceAllString(s, `"created":0`)
}

func TestSSEGolden(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	tests := []struct {
		golden string
		body   string
	}{
		{"stream_echo_usage.sse", `{"model":"echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello SSE world"}]}`},
		{"stream_echo.sse", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"no usage here"}]}`},
		{"stream_upstream_tool_call.sse", `{"model":"gpt-fake","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"call:get_weather {\"city\":\"Paris\"}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`},
		{"stream_tool_stripped.sse", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"call:get_weather {\"town\":1}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`},
		{"stream_extractive.sse", `{"model":"rampart-extractive","stream":true,"messages":[{"role":"system","content":"Backups run at 3am. Restores take an hour."},{"role":"user","content":"When do backups run?"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := post(t, s, "key-a", "/v1/chat/completions", tt.body)
			require.Equal(t, http.StatusOK, r.status, string(r.bytes))
			require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
			require.Equal(t, "no-cache", r.header.Get("Cache-Control"))
			got := normalize(r.bytes)
			require.True(t, strings.HasSuffix(got, "data: [DONE]\n\n"))
			for _, ev := range strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n") {
				require.True(t, strings.HasPrefix(ev, "data: "), "every event is one data line: %q", ev)
				require.NotContains(t, ev, "\n")
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create the golden file")
			require.Equal(t, string(want), got)
		})
	}
}

func TestMidStreamErrorEvent(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	// The fake upstream sends a malformed chunk after the first one: the
	// client gets the partial output, then an error event, and no [DONE].
	r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"badchunk"}]}`)
	require.Equal(t, http.StatusOK, r.status)
	events := strings.Split(strings.TrimSuffix(string(r.bytes), "\n\n"), "\n\n")
	require.Contains(t, events[1], `"content":"partial"`)
	last := events[len(events)-1]
	require.True(t, strings.HasPrefix(last, `data: {"error":`), last)
	require.Contains(t, last, `"type":"server_error"`)
	require.NotContains(t, string(r.bytes), "[DONE]")
	require.NotContains(t, last, "not json", "upstream detail stays inside")
}

// Issue 10: an upstream stream that ends without [DONE], or that sends an
// error event, reaches the client as an error event — never as
// finish_reason "stop" followed by [DONE]; the non-streaming call fails
// with 503.
func TestUpstreamStreamFailuresAreErrors(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	for _, tc := range []struct{ script, wantCode string }{
		{"nodone", "upstream_unavailable"},
		{"errorevent", "upstream_unavailable"},
	} {
		t.Run(tc.script, func(t *testing.T) {
			r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"`+tc.script+`"}]}`)
			require.Equal(t, http.StatusOK, r.status, "the stream had begun")
			body := string(r.bytes)
			require.NotContains(t, body, "[DONE]")
			require.NotContains(t, body, `"finish_reason":"stop"`)
			events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
			last := events[len(events)-1]
			require.True(t, strings.HasPrefix(last, `data: {"error":`), last)
			var e errorBody
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(last, "data: ")), &e))
			require.Equal(t, tc.wantCode, e.Error.Code)
			require.Equal(t, "server_error", e.Error.Type)
			require.NotContains(t, body, "org-fake-secret", "the upstream's message stays inside")
		})
	}
}

// TestDisconnectCancelsUpstream: the client goes away mid-stream; the edge
// cancels the gRPC stream, inference cancels the upstream request, and the
// fake upstream sees its request context end.
func TestDisconnectCancelsUpstream(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	hung := s.Upstream.HangDone()
	reqCtx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"hang"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer key-a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "waiting") {
			break // the upstream is now holding the stream open
		}
	}
	cancel()
	select {
	case <-hung:
	case <-time.After(30 * time.Second): // deadlock guard, not a timing assertion
		t.Fatal("the upstream never saw the cancellation")
	}
	require.Equal(t, int64(1), s.Upstream.Canceled())
}

// The Responses stream frames each event as "event: <type>" plus one data
// line whose type matches, numbered in order, and ends with
// response.completed instead of a [DONE] sentinel.
func TestResponsesSSEFraming(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	r := post(t, s, "key-a", "/v1/responses", `{"model":"echo","stream":true,"input":"framed responses"}`)
	require.Equal(t, http.StatusOK, r.status, string(r.bytes))
	require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
	body := string(r.bytes)
	require.NotContains(t, body, "[DONE]")
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	var last string
	for i, ev := range events {
		name, data, ok := strings.Cut(ev, "\n")
		require.True(t, ok, "event %d has an event line and a data line: %q", i, ev)
		require.True(t, strings.HasPrefix(name, "event: "), ev)
		require.True(t, strings.HasPrefix(data, "data: "), ev)
		var payload struct {
			Type           string `json:"type"`
			SequenceNumber int    `json:"sequence_number"`
		}
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &payload))
		require.Equal(t, strings.TrimPrefix(name, "event: "), payload.Type)
		require.Equal(t, i, payload.SequenceNumber)
		last = payload.Type
	}
	require.Equal(t, "response.created", strings.TrimPrefix(strings.SplitN(events[0], "\n", 2)[0], "event: "))
	require.Equal(t, "response.completed", last)
}
