package slackapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
)

// throttled answers the first n calls of every Web API method with 429
// and Retry-After: retryAfter seconds, as Slack does, then succeeds.
type throttled struct {
	mu         sync.Mutex
	n          int
	retryAfter int
	calls      map[string]int
}

func (s *throttled) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.URL.Path]++
	c := s.calls[r.URL.Path]
	s.mu.Unlock()
	if c <= s.n {
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var body any = map[string]any{"ok": true, "channel": "C1", "ts": "1.2", "text": "x"}
	if r.URL.Path == "/api/conversations.replies" {
		body = map[string]any{"ok": true, "messages": []map[string]any{{"ts": "1.0", "user": "U1", "text": "root"}, {"ts": "1.1", "user": "U2", "text": "reply"}}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *throttled) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TestRateLimitedCallsHonorRetryAfter: chat.postMessage, chat.update and
// conversations.replies answered 429 wait exactly Slack's Retry-After and
// try again, up to MaxRetries; the answer still arrives. Past the budget,
// or with a Retry-After longer than MaxRetryAfter (not waited at all), the
// call fails with ErrRateLimited after a bounded number of calls.
func TestRateLimitedCallsHonorRetryAfter(t *testing.T) {
	calls := map[string]func(context.Context, *slackapi.Client) error{
		"/api/chat.postMessage": func(ctx context.Context, c *slackapi.Client) error {
			ts, err := c.PostMessage(ctx, "xoxb-1", "C1", "1.0", slackapi.Message{Text: "hi"})
			if err == nil && ts != "1.2" {
				t.Errorf("ts %q", ts)
			}
			return err
		},
		"/api/chat.update": func(ctx context.Context, c *slackapi.Client) error {
			return c.UpdateMessage(ctx, "xoxb-1", "C1", "1.2", slackapi.Message{Text: "final"})
		},
		"/api/conversations.replies": func(ctx context.Context, c *slackapi.Client) error {
			msgs, err := c.ThreadReplies(ctx, "xoxb-1", "C1", "1.0", 10)
			if err == nil && len(msgs) != 2 {
				t.Errorf("thread: %+v", msgs)
			}
			return err
		},
	}
	for _, tt := range []struct {
		name                  string
		throttled, retryAfter int
		maxRetries            int
		wantErr               bool
		wantCalls, wantSleeps int
	}{
		{name: "answered after Retry-After", throttled: 2, retryAfter: 3, maxRetries: 3, wantCalls: 3, wantSleeps: 2},
		{name: "past the retry budget", throttled: 10, retryAfter: 1, maxRetries: 3, wantErr: true, wantCalls: 4, wantSleeps: 3},
		{name: "Retry-After longer than MaxRetryAfter", throttled: 1, retryAfter: 120, maxRetries: 3, wantErr: true, wantCalls: 1, wantSleeps: 0},
		{name: "no retries configured", throttled: 1, retryAfter: 1, maxRetries: 0, wantErr: true, wantCalls: 1, wantSleeps: 0},
	} {
		for path, call := range calls {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				srv := &throttled{n: tt.throttled, retryAfter: tt.retryAfter, calls: map[string]int{}}
				ts := httptest.NewServer(srv)
				t.Cleanup(ts.Close)
				var sleeps []time.Duration
				c := slackapi.New(slackapi.Options{APIURL: ts.URL + "/api/", MaxRetries: tt.maxRetries, MaxRetryAfter: 30 * time.Second,
					Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }})
				err := call(t.Context(), c)
				if tt.wantErr {
					require.ErrorIs(t, err, slackapi.ErrRateLimited)
				} else {
					require.NoError(t, err)
				}
				require.Equal(t, tt.wantCalls, srv.count(path), "calls to Slack")
				require.Len(t, sleeps, tt.wantSleeps)
				for _, d := range sleeps {
					require.Equal(t, time.Duration(tt.retryAfter)*time.Second, d, "waited Slack's Retry-After")
				}
			})
		}
	}
}
