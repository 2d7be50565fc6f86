// Command fakeupstream is a minimal OpenAI-compatible upstream for gateway
// overhead measurements: POST /v1/chat/completions answers a fixed, valid
// chat.completion at once; GET /v1/models lists one model; GET /datasheet
// answers an empty price list; GET /secret answers a fixed
// secret-shaped JSON body (the bare HTTP floor for secret reads).
// POST /paced/v1/chat/completions is the same chat, except that a stream's
// events after its role chunk follow -stream-gap later (as a model's
// tokens do), so the first byte's path does not share the two cores with
// the rest of the stream's work. It listens on a loopback address only and
// writes the chosen address to -addr-file. With -print-free-port it prints a
// free loopback TCP port and exits. With -proxy URL it is instead a bare
// net/http/httputil reverse proxy to URL: the floor cost of one extra
// loopback HTTP hop, to compare a gateway against.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

// streamGap is the paced route's pause after a stream's role chunk.
var streamGap time.Duration

type chatReq struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback host:port to listen on")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	freePort := flag.Bool("print-free-port", false, "print a free loopback TCP port and exit")
	proxyTo := flag.String("proxy", "", "run as a bare reverse proxy to this loopback base URL")
	flag.DurationVar(&streamGap, "stream-gap", 2*time.Millisecond, "the paced route's pause between a stream's role chunk and the rest")
	flag.Parse()
	if *freePort {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		_, _ = fmt.Println(ln.Addr().(*net.TCPAddr).Port) //nolint:errcheck,forcetypeassert // a TCP listener has a TCP address
		ln.Close()
		return
	}
	if h, _, err := net.SplitHostPort(*listen); err != nil || !strings.HasPrefix(h, "127.") {
		log.Fatalf("refusing non-loopback listen address %q", *listen)
	}

	var handler http.Handler
	if *proxyTo != "" {
		u, err := url.Parse(*proxyTo)
		if err != nil || !strings.HasPrefix(u.Hostname(), "127.") {
			log.Fatalf("refusing non-loopback proxy target %q", *proxyTo)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
		handler = rp
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("fakeupstream listening on %s", ln.Addr())
	if handler == nil {
		handler = fakeMux()
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// fakeMux serves the fake OpenAI upstream's routes and the secret-read
// floor.
func fakeMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { chat(w, r, 0) })
	mux.HandleFunc("POST /paced/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { chat(w, r, streamGap) })
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"fake"}]}`)
	})

	// The bare net/http floor for secret reads (benchstack): a fixed JSON
	// body shaped like keyvault's GetSecretValue answer, no work behind it.
	mux.HandleFunc("GET /secret", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"/bench/floor","version_id":"v1","secret_string":"floor-value-0123456789","version_stages":["AWSCURRENT"]}`)
	})

	// Stand-in for a gateway's model-pricing download, so that nothing
	// needs to leave the machine: an empty price list.
	mux.HandleFunc("GET /datasheet", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	return mux
}

// chat answers a chat completion with a fixed reply (stream or JSON); a
// stream's events after the role chunk follow gap later.
func chat(w http.ResponseWriter, r *http.Request, gap time.Duration) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, `{"error":{"message":"read error","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	var req chatReq
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"invalid JSON body or missing model","type":"invalid_request_error"}}`)
		return
	}
	if req.Stream {
		streamChat(w, req.Model, gap)
		return
	}
	resp := map[string]any{
		"id":                 "chatcmpl-fake-0001",
		"object":             "chat.completion",
		"created":            time.Now().Unix(),
		"model":              req.Model,
		"system_fingerprint": "fp_fake",
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": "Hello! This is a fixed reply from the fake upstream."},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// streamChat answers stream:true like OpenAI's Server-Sent Events: a role
// chunk (flushed at once, so time to first byte is the fake's minimum), the
// same fixed reply in three content chunks, a finish chunk with usage, and
// [DONE]. benchstack measures streaming time to first byte with it. A gap
// above zero pauses after the role chunk, as a model's first token would.
func streamChat(w http.ResponseWriter, model string, gap time.Duration) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	chunk := func(delta map[string]any, finish any, usage any) {
		c := map[string]any{
			"id": "chatcmpl-fake-0001", "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"system_fingerprint": "fp_fake",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if usage != nil {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)
	if flusher != nil {
		flusher.Flush()
	}
	if gap > 0 {
		time.Sleep(gap)
	}
	for _, part := range []string{"Hello! This is ", "a fixed reply from ", "the fake upstream."} {
		chunk(map[string]any{"content": part}, nil, nil)
	}
	chunk(map[string]any{}, "stop", map[string]any{"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23})
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}
