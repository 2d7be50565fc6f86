package bedrock_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// fakeBedrock speaks Bedrock Runtime's REST JSON protocol and, for
// ConverseStream, AWS event-stream framing (built with the SDK's encoder).
type fakeBedrock struct {
	mu        sync.Mutex
	throttleN int
	requests  int
	bodies    []map[string]any
	paths     []string
	// toolUse makes the model propose get_weather.
	toolUse bool
	// cache makes the usage report prompt-cache reads and writes as
	// Converse does (TokenUsage's cacheReadInputTokens and
	// cacheWriteInputTokens, left out of inputTokens and counted in
	// totalTokens).
	cache bool
}

// usage is the usage member Bedrock sends: input, output and total, and
// with cache the prompt cache's reads and writes.
func (f *fakeBedrock) usage(in, out int) string {
	if !f.cache {
		return fmt.Sprintf(`{"inputTokens":%d,"outputTokens":%d,"totalTokens":%d}`, in, out, in+out)
	}
	const read, write = 1024, 64
	return fmt.Sprintf(`{"inputTokens":%d,"outputTokens":%d,"totalTokens":%d,"cacheReadInputTokens":%d,"cacheWriteInputTokens":%d,`+
		`"cacheDetails":[{"inputTokens":%d,"ttl":"5m"}]}`, in, out, in+out+read+write, read, write, write)
}

func (f *fakeBedrock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.requests++
	f.paths = append(f.paths, r.URL.Path)
	f.bodies = append(f.bodies, req)
	throttle := f.throttleN > 0
	if throttle {
		f.throttleN--
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") == "" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if throttle {
		w.Header().Set("X-Amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"message":"Too many requests, please wait before trying again."}`)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/converse"):
		f.converse(w)
	case strings.HasSuffix(r.URL.Path, "/converse-stream"):
		f.converseStream(w)
	case strings.HasSuffix(r.URL.Path, "/invoke") && strings.Contains(r.URL.Path, "cohere"):
		w.Header().Set("Content-Type", "application/json")
		texts, _ := req["texts"].([]any)
		out := make([]string, len(texts))
		for i := range texts {
			out[i] = "[1,0]"
		}
		_, _ = io.WriteString(w, `{"id":"x","embeddings":[`+strings.Join(out, ",")+`],"response_type":"embeddings_floats"}`)
	case strings.HasSuffix(r.URL.Path, "/invoke"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"embedding":[0.6,0.8],"inputTextTokenCount":3}`)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeBedrock) converse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	if f.toolUse {
		_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},{"toolUse":{"toolUseId":"tu-1","name":"get_weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":`+f.usage(21, 9)+`,"metrics":{"latencyMs":3}}`)
		return
	}
	_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"Bonjour from Bedrock."}]}},"stopReason":"end_turn","usage":`+f.usage(12, 4)+`,"metrics":{"latencyMs":3}}`)
}

func (f *fakeBedrock) converseStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	enc := eventstream.NewEncoder()
	send := func(eventType, payload string) {
		_ = enc.Encode(w, eventstream.Message{
			Headers: eventstream.Headers{
				{Name: ":event-type", Value: eventstream.StringValue(eventType)},
				{Name: ":content-type", Value: eventstream.StringValue("application/json")},
				{Name: ":message-type", Value: eventstream.StringValue("event")},
			},
			Payload: []byte(payload),
		})
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	send("messageStart", `{"role":"assistant"}`)
	send("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Bonjour "}}`)
	send("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"from Bedrock."}}`)
	send("contentBlockStop", `{"contentBlockIndex":0}`)
	stop := "end_turn"
	if f.toolUse {
		send("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tu-1","name":"get_weather"}}}`)
		send("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`)
		send("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`)
		send("contentBlockStop", `{"contentBlockIndex":1}`)
		stop = "tool_use"
	}
	send("messageStop", `{"stopReason":"`+stop+`"}`)
	send("metadata", `{"usage":`+f.usage(12, 6)+`,"metrics":{"latencyMs":5}}`)
}
