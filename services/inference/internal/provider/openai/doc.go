// Package openai is the provider for any OpenAI-compatible upstream (OpenAI,
// vLLM, Ollama, LiteLLM...): chat completions, streaming passthrough and
// embeddings over a tuned, keep-alive HTTP transport, with retries on 429
// and 5xx that honour Retry-After (cenkalti/backoff) and upstream streams
// framed by openai-go's SSE decoder (ADR 0048). Upstream error bodies are
// never returned to the caller except the message of a 400-class
// validation error, which is about the caller's own request; the upstream
// API key never appears in errors or logs.
package openai
