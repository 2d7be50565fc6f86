package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMintingDoesNotMultiplyTheRate (ADR 0076, closing ADR 0069 §2): a
// key limited to N requests (or tokens) a minute mints keys with the same
// limit; on the previous code each had a bucket of its own at the edge and
// in inference, so minting multiplied the rate. Now they share the minting
// key's, and the refusal is OpenAI's 429 with Retry-After.
func TestMintingDoesNotMultiplyTheRate(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rate-pool")
	chat := func(key, text string) (int, http.Header, openAIError) {
		t.Helper()
		return poolChat(t, s, key, text)
	}

	t.Run("requests per minute at the edge", func(t *testing.T) {
		const rpm = 6
		first := mustKey(t, s, tn.owner, map[string]any{"name": "limited", "scopes": []string{"chat:write", "keys:write"},
			"limits": map[string]any{"requests_per_minute": rpm}})
		// Minting goes through the edge too: each creation is one of the
		// first key's requests, so 6 - 2 = 4 are left to the pool.
		var minted []string
		for i := range 2 {
			minted = append(minted, mustKey(t, s, first.APIKey, map[string]any{"name": fmt.Sprint("minted ", i), "scopes": []string{"chat:write"},
				"limits": map[string]any{"requests_per_minute": rpm}}).APIKey)
		}
		ok, refused := 0, 0
		for i := range 2 * rpm { // each minted key alone may make 6
			code, h, e := chat(minted[i%2], "hello")
			if code == http.StatusOK {
				ok++
				continue
			}
			refused++
			requireRateLimited(t, code, h, e, "requests", "minted from the same limited key")
			require.Equal(t, strconv.Itoa(rpm), h.Get("X-Ratelimit-Limit-Requests"), "the pool's limit")
		}
		// 4 left, plus one more if 10 s passed (6 a minute refill).
		require.LessOrEqual(t, ok, rpm-2+1, "the minted keys together get the first key's rate, not %d each", rpm)
		require.GreaterOrEqual(t, ok, rpm-2)
		require.Equal(t, 2*rpm, ok+refused)
		code, h, e := chat(first.APIKey, "hello")
		requireRateLimited(t, code, h, e, "requests", "for this key")
	})

	t.Run("tokens per minute in inference", func(t *testing.T) {
		first := mustKey(t, s, tn.owner, map[string]any{"name": "tpm limited", "scopes": []string{"chat:write", "keys:write"},
			"limits": map[string]any{"tokens_per_minute": 20}})
		a := mustKey(t, s, first.APIKey, map[string]any{"name": "a", "scopes": []string{"chat:write"}, "limits": map[string]any{"tokens_per_minute": 20}})
		b := mustKey(t, s, first.APIKey, map[string]any{"name": "b", "scopes": []string{"chat:write"}, "limits": map[string]any{"tokens_per_minute": 20}})
		// a's call is admitted (its bucket and the pool's are full) and
		// charged afterwards, well past 20 tokens: the pool is in debt.
		code, _, e := chat(a.APIKey, strings.Repeat("spend the shared tokens of the pool ", 8))
		require.Equal(t, http.StatusOK, code, "%+v", e)
		// b has not used a token of its own, but shares a's pool.
		code, h, e := chat(b.APIKey, "hello")
		requireRateLimited(t, code, h, e, "tokens", "minted from the same limited key")
		code, h, e = chat(first.APIKey, "hello")
		requireRateLimited(t, code, h, e, "tokens", "this API key")
	})
}

// poolChat makes one chat completion with key and returns its status,
// headers and (when not 200) OpenAI's error body.
func poolChat(t *testing.T, s *stack, key, text string) (int, http.Header, openAIError) {
	t.Helper()
	data, err := json.Marshal(map[string]any{"model": "echo", "messages": []map[string]any{{"role": "user", "content": text}}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.baseURL+"/v1/chat/completions", bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e openAIError
	if resp.StatusCode != http.StatusOK {
		require.NoError(t, json.Unmarshal(body, &e), string(body))
	}
	return resp.StatusCode, resp.Header, e
}

// requireRateLimited asserts OpenAI's 429 of type typ (requests, tokens)
// whose message contains wording, with a positive Retry-After.
func requireRateLimited(t *testing.T, code int, h http.Header, e openAIError, typ, wording string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "rate_limit_exceeded", e.Error.Code)
	require.Equal(t, typ, e.Error.Type)
	require.Contains(t, e.Error.Message, wording)
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", h.Get("Retry-After"))
	require.Positive(t, secs)
}

// TestNarrowerLimitsNest (ADR 0086): key A mints B with a narrower limit
// and keys:write, and B mints keys with B's limit. On the code of ADR 0076
// they were in A's pool alone, so together they got up to A's rate; now
// they are charged to B's bucket too and get B's rate together, at the
// edge (RPM) and in inference (TPM), while A still has room.
func TestNarrowerLimitsNest(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "nested-pools")
	write := []string{"chat:write", "keys:write"}

	t.Run("requests per minute at the edge", func(t *testing.T) {
		keyA := mustKey(t, s, tn.owner, map[string]any{"name": "A", "scopes": write, "limits": map[string]any{"requests_per_minute": 30}})
		keyB := mustKey(t, s, keyA.APIKey, map[string]any{"name": "B", "scopes": write, "limits": map[string]any{"requests_per_minute": 4}})
		// Each creation is one of B's 4 requests (and of A's 30): 2 are left.
		var underB []string
		for i := range 2 {
			underB = append(underB, mustKey(t, s, keyB.APIKey, map[string]any{"name": fmt.Sprint("under B ", i), "scopes": []string{"chat:write"},
				"limits": map[string]any{"requests_per_minute": 4}}).APIKey)
		}
		ok := 0
		for i := range 8 { // each alone may make 4, and A has 27 left
			code, h, e := poolChat(t, s, underB[i%2], "hello")
			if code == http.StatusOK {
				ok++
				continue
			}
			requireRateLimited(t, code, h, e, "requests", "4 requests per minute for the keys minted from the same limited key")
			require.Equal(t, "4", h.Get("X-Ratelimit-Limit-Requests"), "B's bucket refuses")
		}
		// 2 left, plus one more if 15 s passed (4 a minute refill).
		require.LessOrEqual(t, ok, 3, "the keys B minted get B's rate together, not A's")
		require.GreaterOrEqual(t, ok, 2)
		code, _, e := poolChat(t, s, keyA.APIKey, "hello")
		require.Equal(t, http.StatusOK, code, "A's own bucket has room: %+v", e)
	})

	t.Run("a fifth narrower level is refused", func(t *testing.T) {
		from := tn.owner
		for i, rpm := range []int{60, 50, 40, 30} {
			from = mustKey(t, s, from, map[string]any{"name": fmt.Sprint("level ", i), "scopes": write, "limits": map[string]any{"requests_per_minute": rpm}}).APIKey
		}
		code, data := rawDo(t, http.MethodPost, s.baseURL+"/v1/keys", from, map[string]any{"name": "too deep", "scopes": []string{"chat:write"},
			"limits": map[string]any{"requests_per_minute": 20}})
		require.Equal(t, http.StatusBadRequest, code, string(data))
		var e struct {
			Error struct{ Message, Type, Param string }
		}
		require.NoError(t, json.Unmarshal(data, &e), string(data))
		require.Equal(t, "invalid_request_error", e.Error.Type)
		require.Equal(t, "limits.requests_per_minute", e.Error.Param)
		require.Contains(t, e.Error.Message, "narrower limits nest at most 4 levels deep")
		require.Contains(t, e.Error.Message, "set it to 30")
		mustKey(t, s, from, map[string]any{"name": "at the bound", "scopes": []string{"chat:write"}, "limits": map[string]any{"requests_per_minute": 30}})
	})

	t.Run("tokens per minute in inference", func(t *testing.T) {
		keyA := mustKey(t, s, tn.owner, map[string]any{"name": "A tpm", "scopes": write, "limits": map[string]any{"tokens_per_minute": 100000}})
		keyB := mustKey(t, s, keyA.APIKey, map[string]any{"name": "B tpm", "scopes": write, "limits": map[string]any{"tokens_per_minute": 20}})
		c1 := mustKey(t, s, keyB.APIKey, map[string]any{"name": "c1", "scopes": []string{"chat:write"}, "limits": map[string]any{"tokens_per_minute": 20}})
		c2 := mustKey(t, s, keyB.APIKey, map[string]any{"name": "c2", "scopes": []string{"chat:write"}, "limits": map[string]any{"tokens_per_minute": 20}})
		// c1's call is admitted and charged afterwards, well past 20
		// tokens: B's bucket is in debt, A's has plenty.
		code, _, e := poolChat(t, s, c1.APIKey, strings.Repeat("spend the narrower bucket of B ", 8))
		require.Equal(t, http.StatusOK, code, "%+v", e)
		code, h, e := poolChat(t, s, c2.APIKey, "hello")
		requireRateLimited(t, code, h, e, "tokens", "minted from the same limited key")
		require.Contains(t, e.Error.Message, "limit 20", "B's bucket refuses")
		code, _, e = poolChat(t, s, keyA.APIKey, "hello")
		require.Equal(t, http.StatusOK, code, "A's own bucket has room: %+v", e)
	})
}

// openAIError is OpenAI's error body.
type openAIError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}
