package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// client calls the stack's edges round robin (one edge on the plain
// stack, both on --ha, as a load balancer in front of them would).
type client struct {
	edges []string
	key   string
	http  *http.Client
	next  atomic.Uint64
}

func newClient(edges []string, key string) *client {
	// Keep-alive connections for every worker (the default keeps 2 per host).
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	return &client{edges: edges, key: key, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// do sends one request to edge (an index into edges) and decodes a 2xx
// body into out; any other answer is an error.
func (c *client) do(edge int, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.edges[edge%len(c.edges)]+path, rd) //nolint:noctx // bounded by the client's timeout
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{code: resp.StatusCode, body: truncate(string(data), 200)}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// call is do on the next edge round robin.
func (c *client) call(method, path string, body, out any) error {
	return c.do(int(c.next.Add(1)%uint64(len(c.edges))), method, path, body, out) //nolint:gosec // G115: below len(edges)
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// token is a random idempotency token (keyvault wants 32-64 characters).
func token(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// loadStats is one closed-loop phase.
type loadStats struct {
	Requests int
	Errors   int
	RPS      float64
	P50, P99 time.Duration
	FirstErr string
}

// closedLoop runs conc workers, each calling op back to back for d, and
// counts what completed.
func closedLoop(conc int, d time.Duration, op func(worker, i int) error) loadStats {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	firstErr := ""
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs := 0
			myFirst := ""
			for i := 0; time.Now().Before(deadline); i++ {
				t := time.Now()
				err := op(w, i)
				if err != nil {
					myErrs++
					if myFirst == "" {
						myFirst = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	st := loadStats{Requests: len(lat), Errors: errs, RPS: float64(len(lat)) / el.Seconds(), FirstErr: firstErr}
	st.P50, st.P99 = quantile(lat, 0.5), quantile(lat, 0.99)
	return st
}

func quantile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// throughput is phase 1 on one stack: secret reads, secret writes and chat
// at concurrency conc.
type throughput struct {
	Read, Write, Chat loadStats
}

const benchSecret = "/dev/habench/kv/read" //nolint:gosec // G101: a secret's name, not a credential

// writesPerSecret: each writer starts a new secret after this many
// versions, well under keyvault's 100 kept versions.
const writesPerSecret = 50

func measureThroughput(c *client, conc int, d time.Duration, tag string) (throughput, error) {
	var tp throughput
	if err := c.call(http.MethodPost, "/v1/secrets", map[string]any{
		"name": benchSecret, "secret_string": token("value-"), "client_request_token": token("habench-"),
	}, nil); err != nil {
		return tp, fmt.Errorf("create the read secret: %w", err)
	}
	tp.Read = closedLoop(conc, d, func(_, _ int) error {
		var got struct {
			SecretString string `json:"secret_string"`
		}
		if err := c.call(http.MethodGet, "/v1/secrets"+benchSecret+":value", nil, &got); err != nil {
			return err
		}
		if got.SecretString == "" {
			return fmt.Errorf("empty secret value")
		}
		return nil
	})
	// Every write is a new version (a fresh client_request_token); a new
	// secret every writesPerSecret versions.
	tp.Write = closedLoop(conc, d, func(w, i int) error {
		name := fmt.Sprintf("/dev/habench/kv/%s-w%d-%d", tag, w, i/writesPerSecret)
		body := map[string]any{"secret_string": token("value-"), "client_request_token": token("habench-")}
		if i%writesPerSecret == 0 {
			body["name"] = name
			return c.call(http.MethodPost, "/v1/secrets", body, nil)
		}
		return c.call(http.MethodPost, "/v1/secrets"+name+":putValue", body, nil)
	})
	tp.Chat = closedLoop(conc, d, func(w, i int) error { return chat(c, -1, w, i) })
	return tp, nil
}

// chat sends one chat completion for the fake upstream (edge < 0: the
// next edge round robin).
func chat(c *client, edge, w, i int) error {
	var resp struct {
		Choices []json.RawMessage `json:"choices"`
	}
	body := map[string]any{
		"model": "gpt-4o-mini", "max_tokens": 16,
		"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("Say hello to worker %d, request %d.", w, i)}},
	}
	var err error
	if edge < 0 {
		err = c.call(http.MethodPost, "/v1/chat/completions", body, &resp)
	} else {
		err = c.do(edge, http.MethodPost, "/v1/chat/completions", body, &resp)
	}
	if err == nil && len(resp.Choices) == 0 {
		err = fmt.Errorf("chat: 200 without choices")
	}
	return err
}
