package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Upstream is an instant OpenAI-compatible upstream for tests and
// benchmarks. Chat completions echo the last user message (or, when tools
// are offered and the message is "call:<name> <json>", propose that call);
// "stream": true answers word by word as SSE with a usage chunk;
// embeddings return small deterministic vectors.
//
// Scripting: FailNext makes the next n requests answer status (with
// Retry-After: 0); a user message "hang" makes a streaming response send
// its first chunk and then wait for the client to go away, which Canceled
// counts; "badchunk" sends one chunk and then a malformed one; "nodone"
// streams a whole answer (finish_reason "stop", usage) but ends without
// "data: [DONE]"; "errorevent" sends one chunk and then an error event
// (data: {"error": {...}}, as OpenAI and vLLM do mid-stream);
// "errorfirst" sends only the role chunk and then the error event (an
// upstream that accepted the stream and failed before any content).
//
// n > 1 answers n choices as OpenAI does (choice i's text is the echo
// followed by " #i" for i > 0; usage counts every choice's completion;
// streamed, each content chunk names its choice's index), and logprobs
// true gives each choice (each content chunk when streamed) OpenAI's
// logprobs object, one entry per word with top_logprobs alternatives.
//
// /responses speaks OpenAI's Responses API (fakeresponses.go): the same
// echo, "call:" and "errorevent" scripting on the last user input
// message, JSON or the SSE event sequence.
type Upstream struct {
	// APIKey, when set, is required as the bearer token.
	APIKey string
	// NoUsage makes chat answers carry no usage (like some
	// OpenAI-compatible servers), so inference counts tokens itself.
	NoUsage bool
	// NoResponses makes /responses 404, like OpenAI-compatible servers
	// that serve only chat completions.
	NoResponses bool

	requests atomic.Int64
	canceled atomic.Int64
	mu       sync.Mutex
	failN    int
	failCode int
	lastBody []byte
	hangDone chan struct{}
	rotated  *string
}

// SetAPIKey replaces the required bearer token (a rotation at the
// upstream); safe while requests are served.
func (f *Upstream) SetAPIKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotated = &key
}

func (f *Upstream) apiKey() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rotated != nil {
		return *f.rotated
	}
	return f.APIKey
}

// FailNext makes the next n requests fail with status.
func (f *Upstream) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failCode = n, status
}

// Requests is the number of requests received.
func (f *Upstream) Requests() int64 { return f.requests.Load() }

// Canceled is the number of requests whose client went away mid-response.
func (f *Upstream) Canceled() int64 { return f.canceled.Load() }

// HangDone returns a channel closed when a hanging request saw its client go away.
func (f *Upstream) HangDone() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hangDone == nil {
		f.hangDone = make(chan struct{})
	}
	return f.hangDone
}

// LastBody returns the last request body.
func (f *Upstream) LastBody() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.lastBody...)
}

type fakeReq struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"messages"`
	Tools       []json.RawMessage `json:"tools"`
	Input       any               `json:"input"`
	N           int               `json:"n"`
	Logprobs    bool              `json:"logprobs"`
	TopLogprobs int               `json:"top_logprobs"`
	// Responses API
	Instructions string          `json:"instructions"`
	Reasoning    json.RawMessage `json:"reasoning"`
	Include      []string        `json:"include"`
}

// ServeHTTP implements http.Handler.
func (f *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if key := f.apiKey(); key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		http.Error(w, `{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	if f.failN > 0 {
		f.failN--
		code := f.failCode
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"message":"try later","type":"server_error"}}`, code)
		return
	}
	f.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	var req fakeReq
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error","param":null}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.lastBody = body
	f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		f.chat(w, r, &req)
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		f.embeddings(w, &req)
	case strings.HasSuffix(r.URL.Path, "/responses") && !f.NoResponses:
		f.responses(w, &req)
	default:
		http.NotFound(w, r)
	}
}

func lastUser(req *fakeReq) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			if s, ok := req.Messages[i].Content.(string); ok {
				return s
			}
		}
	}
	return ""
}

func (f *Upstream) chat(w http.ResponseWriter, r *http.Request, req *fakeReq) {
	text := lastUser(req)
	var toolCall string
	if rest, ok := strings.CutPrefix(text, "call:"); ok && len(req.Tools) > 0 {
		name, args, _ := strings.Cut(rest, " ")
		a, _ := json.Marshal(args)
		toolCall = `{"id":"call_fake_1","type":"function","function":{"name":"` + name + `","arguments":` + string(a) + `}}`
	}
	if !req.Stream {
		f.chatJSON(w, req, text, toolCall)
		return
	}
	f.chatStream(w, r, req, text, toolCall)
}

// usage is the fake's token count for text: prompt and completion.
func usage(text string) (prompt, completion int) {
	return 10 + len(text)/4, len(strings.Fields(text))
}

// usageJSON is a chat usage object as OpenAI sends it, details included:
// half the prompt cached and half the completion reasoning, so a caller
// sees whether the details were passed through (ADR 0117).
func usageJSON(prompt, completion int) string {
	return fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,`+
		`"prompt_tokens_details":{"cached_tokens":%d,"audio_tokens":0},`+
		`"completion_tokens_details":{"reasoning_tokens":%d,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		prompt, completion, prompt+completion, prompt/2, completion/2)
}

// choices is how many choices req asks for (n, at least 1).
func (req *fakeReq) choices() int { return max(req.N, 1) }

// choiceText is choice i's text of an echo of text.
func choiceText(text string, i int) string {
	if i == 0 {
		return text
	}
	return text + " #" + strconv.Itoa(i)
}

// logprobsJSON is OpenAI's logprobs object for the words of text (null
// unless req asks for logprobs): each word a token with logprob -0.5 and
// top alternatives, the word first.
func logprobsJSON(req *fakeReq, text string) string {
	if !req.Logprobs {
		return "null"
	}
	var b strings.Builder
	b.WriteString(`{"content":[`)
	for i, word := range strings.SplitAfter(text, " ") {
		if word == "" {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		tok := jsonString(word)
		bs, _ := json.Marshal([]int(nil))
		if raw := []byte(word); len(raw) > 0 {
			ints := make([]int, len(raw))
			for j, c := range raw {
				ints[j] = int(c)
			}
			bs, _ = json.Marshal(ints)
		}
		b.WriteString(`{"token":` + tok + `,"logprob":-0.5,"bytes":` + string(bs) + `,"top_logprobs":[`)
		for k := range req.TopLogprobs {
			if k > 0 {
				b.WriteByte(',')
			}
			alt := tok
			lp := "-0.5"
			if k > 0 {
				alt, lp = jsonString("alt"+strconv.Itoa(k)), "-"+strconv.Itoa(k+1)
			}
			b.WriteString(`{"token":` + alt + `,"logprob":` + lp + `,"bytes":null}`)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"refusal":null}`)
	return b.String()
}

// chatJSON answers a non-streaming chat completion: text echoed, or the
// tool call.
func (f *Upstream) chatJSON(w http.ResponseWriter, req *fakeReq, text, toolCall string) {
	if req.choices() > 1 || req.Logprobs {
		f.chatChoicesJSON(w, req, text)
		return
	}
	prompt, completion := usage(text)
	w.Header().Set("Content-Type", "application/json")
	msg := `{"role":"assistant","content":` + jsonString(text) + `}`
	finish := "stop"
	if toolCall != "" {
		msg = `{"role":"assistant","content":null,"tool_calls":[` + toolCall + `]}`
		finish = "tool_calls"
	}
	if f.NoUsage {
		fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%s,"choices":[{"index":0,"message":%s,"logprobs":null,"finish_reason":"%s"}]}`,
			jsonString(req.Model), msg, finish)
		return
	}
	fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%s,"choices":[{"index":0,"message":%s,"logprobs":null,"finish_reason":"%s"}],"usage":%s}`,
		jsonString(req.Model), msg, finish, usageJSON(prompt, completion))
}

// chatChoicesJSON answers n choices, with logprobs when asked.
func (f *Upstream) chatChoicesJSON(w http.ResponseWriter, req *fakeReq, text string) {
	prompt, _ := usage(text)
	completion := 0
	choices := make([]string, req.choices())
	for i := range choices {
		t := choiceText(text, i)
		_, c := usage(t)
		completion += c
		choices[i] = fmt.Sprintf(`{"index":%d,"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},"logprobs":%s,"finish_reason":"stop"}`,
			i, jsonString(t), logprobsJSON(req, t))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":%s,"choices":[%s],"usage":%s}`,
		jsonString(req.Model), strings.Join(choices, ","), usageJSON(prompt, completion))
}

// chatChoicesStream streams n choices word by word, the choices' chunks
// interleaved, each content chunk with its logprobs when asked.
func (f *Upstream) chatChoicesStream(w http.ResponseWriter, req *fakeReq, text string) {
	prompt, _ := usage(text)
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	chunk := func(i int, delta, finish, logprobs string) {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%s,"choices":[{"index":%d,"delta":%s,"logprobs":%s,"finish_reason":%s}]}`+"\n\n",
			jsonString(req.Model), i, delta, logprobs, finish)
		if fl != nil {
			fl.Flush()
		}
	}
	n := req.choices()
	words := make([][]string, n)
	completion := 0
	for i := range n {
		chunk(i, `{"role":"assistant","content":""}`, "null", "null")
		t := choiceText(text, i)
		words[i] = strings.SplitAfter(t, " ")
		_, c := usage(t)
		completion += c
	}
	for k := 0; ; k++ {
		more := false
		for i := range n {
			if k < len(words[i]) {
				more = true
				chunk(i, `{"content":`+jsonString(words[i][k])+`}`, "null", logprobsJSON(req, words[i][k]))
			}
		}
		if !more {
			break
		}
	}
	for i := range n {
		chunk(i, `{}`, `"stop"`, "null")
	}
	fmt.Fprintf(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%s,"choices":[],"usage":%s}`+"\n\n", jsonString(req.Model), usageJSON(prompt, completion))
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// chatStream answers a streaming chat completion, word by word, with the
// failures the tests ask for by the text: badchunk, errorevent, hang and
// nodone.
func (f *Upstream) chatStream(w http.ResponseWriter, r *http.Request, req *fakeReq, text, toolCall string) {
	if req.choices() > 1 || req.Logprobs {
		f.chatChoicesStream(w, req, text)
		return
	}
	prompt, completion := usage(text)
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	chunk := func(delta, finish string) {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":%s,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", jsonString(req.Model), delta, finish)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk(`{"role":"assistant","content":""}`, "null")
	if text == "badchunk" {
		chunk(`{"content":"partial"}`, "null")
		fmt.Fprint(w, "data: {not json\n\n")
		return
	}
	if text == "errorevent" || text == "errorfirst" {
		if text == "errorevent" {
			chunk(`{"content":"partial"}`, "null")
		}
		fmt.Fprint(w, `data: {"error":{"message":"upstream overloaded for org-fake-secret","type":"server_error","param":null,"code":"server_overloaded"}}`+"\n\n")
		return
	}
	if text == "hang" {
		chunk(`{"content":"waiting"}`, "null")
		<-r.Context().Done()
		f.canceled.Add(1)
		f.mu.Lock()
		if f.hangDone != nil {
			close(f.hangDone)
			f.hangDone = nil
		}
		f.mu.Unlock()
		return
	}
	if toolCall != "" {
		// Split the tool call into fragments as OpenAI does.
		name, args, _ := strings.Cut(strings.TrimPrefix(text, "call:"), " ")
		half := len(args) / 2
		chunk(`{"tool_calls":[{"index":0,"id":"call_fake_1","type":"function","function":{"name":`+jsonString(name)+`,"arguments":`+jsonString(args[:half])+`}}]}`, "null")
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":`+jsonString(args[half:])+`}}]}`, "null")
		chunk(`{}`, `"tool_calls"`)
	} else {
		for _, word := range strings.SplitAfter(text, " ") {
			chunk(`{"content":`+jsonString(word)+`}`, "null")
		}
		chunk(`{}`, `"stop"`)
	}
	if text == "nodone" {
		return // a complete-looking answer, cut before its end
	}
	if f.NoUsage {
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":%s,\"choices\":[],\"usage\":%s}\n\n", jsonString(req.Model), usageJSON(prompt, completion))
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func (f *Upstream) embeddings(w http.ResponseWriter, req *fakeReq) {
	var inputs []string
	switch v := req.Input.(type) {
	case string:
		inputs = []string{v}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			inputs = append(inputs, s)
		}
	}
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	for i, in := range inputs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"embedding","index":%d,"embedding":[%d,0.5,0.25]}`, i, len(in))
	}
	b.WriteString(`],"model":` + jsonString(req.Model) + `,"usage":{"prompt_tokens":` + strconv.Itoa(len(inputs)*3) + `,"total_tokens":` + strconv.Itoa(len(inputs)*3) + `}}`)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(b.String()))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
