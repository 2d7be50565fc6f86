package chaos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Checks of state the replicas share (ADR 0134), run on the --ha stack
// after the chaos phase, every replica back: each goes through both edges
// and asserts, from the inference replicas' own counters, that both
// inference replicas took part.

// checkStoredResponses: a chain of stored responses (previous_response_id)
// made alternately through both edges, so consecutive links land on
// different inference replicas, continues each time; every link is then
// read back through both edges, and the last one's input items hold the
// first link's input: a stored response is readable from any inference
// replica (the database, sealed under the tenant's one data key).
func checkStoredResponses(t *testing.T, s *haStack, c *client, admin string) {
	before := [2]int{methodCalls(t, s, "inference-1", "GetResponse"), methodCalls(t, s, "inference-2", "GetResponse")}
	canary := token("canary-")
	const links = 8
	var ids []string
	prev := ""
	for i := range links {
		body := map[string]any{"model": "echo", "store": true, "input": fmt.Sprintf("link %d of %s", i, canary)}
		if prev != "" {
			body["previous_response_id"] = prev
		}
		code, data, err := c.call(c.edges[i%2], http.MethodPost, "/v1/responses", admin, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, "link %d through edge %d: %s", i, i%2+1, data)
		var r struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(data, &r))
		require.NotEmpty(t, r.ID)
		ids = append(ids, r.ID)
		prev = r.ID
	}
	for _, id := range ids {
		for e, edge := range c.edges {
			code, data, err := c.call(edge, http.MethodGet, "/v1/responses/"+id, admin, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, "%s through edge %d: %s", id, e+1, data)
			require.Contains(t, string(data), `"`+id+`"`)
		}
	}
	code, data, err := c.call(c.edges[1], http.MethodGet, "/v1/responses/"+prev+"/input_items?order=asc&limit=100", admin, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "%s", data)
	require.Contains(t, string(data), "link 0 of "+canary, "the last link's conversation starts at the first")
	after := [2]int{methodCalls(t, s, "inference-1", "GetResponse"), methodCalls(t, s, "inference-2", "GetResponse")}
	t.Logf("%d stored responses chained through alternating edges; GetResponse served by inference-1 %d, inference-2 %d times",
		links, after[0]-before[0], after[1]-before[1])
	require.Positive(t, after[0]-before[0], "inference-1 read no stored response")
	require.Positive(t, after[1]-before[1], "inference-2 read no stored response")
}

// checkSharedBudget: a key's monthly token budget is spent through both
// edges, and so through both inference replicas, until it is refused; the
// tokens granted stay within the budget plus the one call that crossed it
// (each call is admitted while the spent tokens are under the budget). A
// budget counted per replica would grant up to twice as much.
func checkSharedBudget(t *testing.T, s *haStack, c *client, admin string) {
	const budget = 300
	var k struct {
		APIKey string `json:"api_key"`
	}
	require.NoError(t, c.op("setup", http.MethodPost, "/v1/keys", admin, map[string]any{
		"name": "chaos-budget", "scopes": []string{"chat:write"}, "limits": map[string]any{"monthly_token_budget": budget},
	}, &k))
	before := [2]int{methodCalls(t, s, "inference-1", "ChatCompletion"), methodCalls(t, s, "inference-2", "ChatCompletion")}
	spent, largest, calls, refused := 0, 0, 0, false
	for i := range 4 * budget {
		body := map[string]any{"model": "echo", "messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("spend %d of a shared budget", i)}}}
		code, data, err := c.call(c.edges[i%2], http.MethodPost, "/v1/chat/completions", k.APIKey, body)
		require.NoError(t, err)
		if code == http.StatusTooManyRequests && strings.Contains(string(data), "insufficient_quota") {
			refused = true
			break
		}
		require.Equal(t, http.StatusOK, code, "call %d through edge %d: %s", i, i%2+1, data)
		var r struct {
			Usage struct {
				TotalTokens int `json:"total_tokens"`
			} `json:"usage"`
		}
		require.NoError(t, json.Unmarshal(data, &r))
		require.Positive(t, r.Usage.TotalTokens)
		spent += r.Usage.TotalTokens
		largest = max(largest, r.Usage.TotalTokens)
		calls++
	}
	after := [2]int{methodCalls(t, s, "inference-1", "ChatCompletion"), methodCalls(t, s, "inference-2", "ChatCompletion")}
	t.Logf("budget %d: %d calls granted %d tokens (largest call %d) before insufficient_quota; inference-1 served %d, inference-2 %d",
		budget, calls, spent, largest, after[0]-before[0], after[1]-before[1])
	require.True(t, refused, "the budget was never refused")
	require.GreaterOrEqual(t, spent, budget, "refused before the budget was spent")
	require.LessOrEqual(t, spent, budget+largest, "the replicas counted the key's tokens separately")
	require.Positive(t, after[0]-before[0], "inference-1 served none of the calls")
	require.Positive(t, after[1]-before[1], "inference-2 served none of the calls")
}

// methodCalls sums process name's grpc_server_handled_total for one method
// of a Rampart service.
func methodCalls(t *testing.T, s *haStack, name, method string) int {
	t.Helper()
	total := 0
	for _, m := range scrape(t, s, name) {
		if m.name == "grpc_server_handled_total" && strings.Contains(m.labels, `grpc_service="rampart.`) &&
			strings.Contains(m.labels, `grpc_method="`+method+`"`) {
			total += int(m.value)
		}
	}
	return total
}
