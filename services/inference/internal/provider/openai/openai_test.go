package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/openai"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

func setup(t *testing.T) (*openaitest.Upstream, *openai.Provider) {
	t.Helper()
	fake := &openaitest.Upstream{APIKey: "sk-upstream"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: "sk-upstream", MaxRetries: 2})
	require.NoError(t, err)
	return fake, p
}

func call(t testing.TB, body string) *provider.ChatCall {
	t.Helper()
	req, err := wire.ParseChat([]byte(body))
	require.NoError(t, err)
	return &provider.ChatCall{UpstreamModel: "upstream-model", Request: req}
}

func TestChat(t *testing.T) {
	fake, p := setup(t)
	res, err := p.Chat(t.Context(), call(t, `{"model":"alias","messages":[{"role":"user","content":"hi there"}],"temperature":0.5,"seed":7,"store":true,"metadata":{"a":"b"}}`))
	require.NoError(t, err)
	require.Equal(t, "hi there", res.Content)
	require.Equal(t, "stop", res.FinishReason)
	require.True(t, res.Usage.Reported)

	var sent map[string]any
	require.NoError(t, json.Unmarshal(fake.LastBody(), &sent))
	require.Equal(t, "upstream-model", sent["model"], "the upstream gets its own model name")
	require.Equal(t, 0.5, sent["temperature"])
	require.NotContains(t, sent, "stream")
	require.NotContains(t, sent, "store", "no upstream retention on Rampart's key")
	require.NotContains(t, sent, "metadata")
}

// safety_identifier and prompt_cache_key are accepted (the SDKs' successors
// of user) and not forwarded, whether the request is encoded directly or,
// with tools, by json.Marshal: not every OpenAI-compatible server knows them
// (ADR 0096).
func TestSDKIdentifiersAreNotForwarded(t *testing.T) {
	fake, p := setup(t)
	const ids = `"safety_identifier":"user-hash-1","prompt_cache_key":"conversation-1"`
	for _, body := range []string{
		`{"model":"alias","messages":[{"role":"user","content":"hi"}],` + ids + `}`,
		`{"model":"alias","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],` + ids + `}`,
	} {
		_, err := p.Chat(t.Context(), call(t, body))
		require.NoError(t, err)
		var sent map[string]any
		require.NoError(t, json.Unmarshal(fake.LastBody(), &sent))
		require.NotContains(t, sent, "safety_identifier", body)
		require.NotContains(t, sent, "prompt_cache_key", body)
	}
}

func TestStructuredOutputsArePassedThrough(t *testing.T) {
	fake, p := setup(t)
	const format = `{"type":"json_schema","json_schema":{"name":"person","description":"a person","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}`
	_, err := p.Chat(t.Context(), call(t, `{"model":"alias","messages":[{"role":"user","content":"hi"}],"response_format":`+format+`}`))
	require.NoError(t, err)
	var sent struct {
		ResponseFormat json.RawMessage `json:"response_format"`
	}
	require.NoError(t, json.Unmarshal(fake.LastBody(), &sent))
	require.JSONEq(t, format, string(sent.ResponseFormat))
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fail     int
		status   int
		wantKind apierr.Kind
		wantReqs int64
	}{
		{"429 then success", 2, http.StatusTooManyRequests, -1, 3},
		{"503 then success", 1, http.StatusServiceUnavailable, -1, 2},
		{"429 beyond retries", 5, http.StatusTooManyRequests, apierr.KindRateLimited, 3},
		{"500 beyond retries", 5, http.StatusInternalServerError, apierr.KindUnavailable, 3},
		{"400 is not retried", 1, http.StatusBadRequest, apierr.KindInvalid, 1},
		{"401 is not retried and hides detail", 1, http.StatusUnauthorized, apierr.KindUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, p := setup(t)
			fake.FailNext(tt.fail, tt.status)
			_, err := p.Chat(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
			require.Equal(t, tt.wantReqs, fake.Requests())
			if tt.wantKind < 0 {
				require.NoError(t, err)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tt.wantKind, e.Kind)
			require.NotContains(t, e.Message, "sk-upstream")
		})
	}
}

func TestRetryAfterTooLongIsNotWaited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: 3, MaxRetryWait: time.Second})
	require.NoError(t, err)
	_, err = p.Chat(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	e, ok := apierr.As(err)
	require.True(t, ok)
	require.Equal(t, apierr.KindRateLimited, e.Kind)
	require.Equal(t, time.Hour, e.RetryAfter)
}

func TestStream(t *testing.T) {
	_, p := setup(t)
	var text string
	var last *provider.Delta
	err := p.Stream(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"one two three"}]}`), func(d *provider.Delta) error {
		text += d.Content
		if d.FinishReason != "" {
			last = d
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "one two three", text)
	require.Equal(t, "stop", last.FinishReason)
	require.NotNil(t, last.Usage)
	require.True(t, last.Usage.Reported)
}

func TestStreamAssemblesToolCalls(t *testing.T) {
	_, p := setup(t)
	var last *provider.Delta
	err := p.Stream(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"call:get_weather {\"city\":\"Paris\"}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`), func(d *provider.Delta) error {
		if d.FinishReason != "" {
			last = d
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "tool_calls", last.FinishReason)
	require.Len(t, last.ToolCalls, 1)
	require.Equal(t, "get_weather", last.ToolCalls[0].Function.Name)
	require.JSONEq(t, `{"city":"Paris"}`, last.ToolCalls[0].Function.Arguments)
}

func TestStreamCancelReachesUpstream(t *testing.T) {
	fake, p := setup(t)
	hung := fake.HangDone()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- p.Stream(ctx, call(t, `{"model":"m","messages":[{"role":"user","content":"hang"}]}`), func(d *provider.Delta) error {
			if d.Content == "waiting" {
				cancel() // the client goes away after the first words
			}
			return nil
		})
	}()
	<-hung // the fake saw its request context end
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Equal(t, int64(1), fake.Canceled())
}

// TestStreamReadErrorEndsUpstream: when the reader gives up on a stream
// the upstream is still writing (emit refuses a delta, e.g. a tool call the
// policy does not allow), the upstream request ends at once instead of
// being drained until the upstream finishes or the attempt times out.
func TestStreamReadErrorEndsUpstream(t *testing.T) {
	refused := apierr.Forbidden("tools", "refused by the test")
	tests := []struct {
		name string
		emit error
		want func(t *testing.T, err error)
	}{
		{"API error", refused, func(t *testing.T, err error) {
			ae, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, refused.Message, ae.Message)
		}},
		{"other error", errors.New("client stream broke"), func(t *testing.T, err error) {
			_, ok := apierr.As(err)
			require.True(t, ok, "an unreadable stream is an API error, got %v", err)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &openaitest.Upstream{APIKey: "sk-upstream"}
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: "sk-upstream", Timeout: time.Hour})
			require.NoError(t, err)
			hung := fake.HangDone()
			errc := make(chan error, 1)
			go func() {
				errc <- p.Stream(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"hang"}]}`), func(d *provider.Delta) error {
					if d.Content == "waiting" {
						return tc.emit
					}
					return nil
				})
			}()
			select {
			case <-hung: // the fake saw its request end
			case <-time.After(30 * time.Second):
				t.Fatal("the upstream stream was not ended after the reader failed")
			}
			tc.want(t, <-errc)
			require.Equal(t, int64(1), fake.Canceled())
		})
	}
}

func TestEmbed(t *testing.T) {
	_, p := setup(t)
	res, err := p.Embed(t.Context(), &provider.EmbedCall{UpstreamModel: "e", Inputs: []string{"a", "bb"}})
	require.NoError(t, err)
	require.Len(t, res.Vectors, 2)
	require.Equal(t, float32(2), res.Vectors[1][0])
}

// TestRetryWaits: the wait before a retry is the upstream's Retry-After
// (or retry-after-ms) when it sent one, else 125-250 ms (equal jitter from
// 250 ms); a wait cut short by the caller returns the upstream's error.
// TestRetryWaits: the retry comes no earlier than the wait it was told
// (the schedule's exact values are TestUpstreamBackOffSchedule's), and a
// caller that gives up ends the wait. No upper bound on a gap: on a
// loaded machine a goroutine may wake late, which says nothing of the code.
func TestRetryWaits(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name     string
		header   [2]string
		cancelIn time.Duration // 0: never
		minGap   time.Duration
		wantReqs int
	}{
		{"exponential backoff", [2]string{}, 0, 125 * ms, 2},
		{"retry-after-ms", [2]string{"Retry-After-Ms", "400"}, 0, 400 * ms, 2},
		{"retry-after seconds", [2]string{"Retry-After", "1"}, 0, time.Second, 2},
		// An hour's wait that is allowed: only the caller can end it.
		{"caller gives up during the wait", [2]string{"Retry-After", "3600"}, 200 * ms, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var at []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				at = append(at, time.Now())
				n := len(at)
				mu.Unlock()
				if n == 1 {
					if tt.header[0] != "" {
						w.Header().Set(tt.header[0], tt.header[1])
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`))
			}))
			defer srv.Close()
			p, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: 1, MaxRetryWait: 2 * time.Hour})
			require.NoError(t, err)
			ctx := t.Context()
			if tt.cancelIn > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.cancelIn)
				defer cancel()
			}
			_, err = p.Chat(ctx, call(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, at, tt.wantReqs)
			if tt.cancelIn > 0 {
				// Returning at all is the proof: the wait was an hour.
				e, ok := apierr.As(err)
				require.True(t, ok, "the upstream's error, not the context's: %v", err)
				require.Equal(t, apierr.KindUnavailable, e.Kind)
				return
			}
			require.NoError(t, err)
			require.GreaterOrEqual(t, at[1].Sub(at[0]), tt.minGap)
		})
	}
}

// TestUpstreamMessageNeverCarriesTheKey: a 4xx about the request passes the
// upstream's message on to the client (and so into the access logs), but an
// upstream that echoes the request's credentials in it (a proxy quoting the
// Authorization header, a server naming the key it refused) must not hand
// Rampart's provider key to a tenant (security review 2026-12-06 evening).
func TestUpstreamMessageNeverCarriesTheKey(t *testing.T) {
	const key = "sk-live-canary-0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "organization quota for header '" + r.Header.Get("Authorization") + "' (key " + key + ") does not allow temperature 3",
			"param":   "temperature",
		}})
	}))
	t.Cleanup(srv.Close)
	p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: key})
	require.NoError(t, err)
	_, err = p.Chat(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apierr.KindInvalid, ae.Kind)
	require.Equal(t, "temperature", ae.Param)
	require.Contains(t, ae.Message, "does not allow temperature 3", "the rest of the message stays")
	require.NotContains(t, ae.Message, key)
	require.NotContains(t, ae.Message, "canary")
}

// An upstream nobody listens on: the client reads a fixed message, the
// transport's own error travels as the Cause for the operator's log.
func TestUnreachableUpstreamKeepsTheCauseForTheLog(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p, err := openai.New(openai.Config{BaseURL: url, MaxRetries: 0})
	require.NoError(t, err)
	_, err = p.Chat(t.Context(), call(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	e, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apierr.KindUnavailable, e.Kind)
	require.Equal(t, "The upstream model is unreachable.", e.Message)
	require.ErrorContains(t, e.Cause, "connection refused")
}
