package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// MaxPrompts bounds a legacy completion's prompt array (each prompt is one
// chat call).
const MaxPrompts = 16

// CompletionRequest is a legacy /v1/completions request body. It is served
// by mapping each prompt to a one-message chat request (ToChat).
type CompletionRequest struct {
	Model         string         `json:"model"`
	Prompt        PromptList     `json:"prompt"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	N             *int           `json:"n,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	Stop          StringList     `json:"stop,omitempty"`
	User          string         `json:"user,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`

	// Accepted for SDK compatibility; refused when they ask for something
	// chat cannot do (echo, suffix, logprobs, best_of > 1).
	FrequencyPenalty *float64          `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64          `json:"presence_penalty,omitempty"`
	Echo             *bool             `json:"echo,omitempty"`
	Suffix           *string           `json:"suffix,omitempty"`
	Logprobs         *int              `json:"logprobs,omitempty"`
	BestOf           *int              `json:"best_of,omitempty"`
	LogitBias        map[string]any    `json:"logit_bias,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// PromptList is a prompt string or an array of prompt strings (token arrays
// are not supported).
type PromptList []string

// UnmarshalJSON implements json.Unmarshaler.
func (p *PromptList) UnmarshalJSON(b []byte) error {
	var l StringList
	if err := l.UnmarshalJSON(b); err != nil || bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return errPrompt
	}
	*p = PromptList(l)
	return nil
}

var errPrompt = errors.New("prompt must be a string or an array of strings (token arrays are not supported)")

// ParseCompletion decodes and validates a legacy completion request body.
func ParseCompletion(body []byte) (*CompletionRequest, error) {
	var r CompletionRequest
	if err := decodeStrict(body, &r); err != nil {
		if e, ok := apierr.As(err); ok && e.Param == "" && e.Message == "Invalid request body: "+errPrompt.Error() {
			return nil, apierr.Invalid("prompt", "%s", errPrompt.Error())
		}
		return nil, err
	}
	switch {
	case r.Model == "":
		return nil, apierr.Invalid("model", "you must provide a model parameter")
	case r.Prompt == nil:
		return nil, apierr.Invalid("prompt", "Missing required parameter: 'prompt'.")
	case len(r.Prompt) == 0:
		return nil, apierr.Invalid("prompt", "prompt must not be an empty array")
	case len(r.Prompt) > MaxPrompts:
		return nil, apierr.Invalid("prompt", "prompt may have at most %d items", MaxPrompts)
	case r.Echo != nil && *r.Echo:
		return nil, apierr.InvalidCode("unsupported_parameter", "echo", "echo is not supported")
	case r.Suffix != nil && *r.Suffix != "":
		return nil, apierr.InvalidCode("unsupported_parameter", "suffix", "suffix is not supported")
	case r.Logprobs != nil:
		return nil, apierr.InvalidCode("unsupported_parameter", "logprobs", "logprobs is not supported")
	case r.BestOf != nil && *r.BestOf != 1:
		return nil, apierr.Invalid("best_of", "best_of must be 1: generating several candidates is not supported")
	case len(r.LogitBias) > 0:
		return nil, apierr.InvalidCode("unsupported_parameter", "logit_bias", "logit_bias is not supported")
	}
	return &r, nil
}

// ToChat returns the chat request body for prompt i: one user message with
// the prompt, the sampling parameters carried over.
func (r *CompletionRequest) ToChat(i int) ([]byte, error) {
	c := ChatRequest{
		Model:       r.Model,
		Messages:    []Message{{Role: "user", Content: Content{Text: r.Prompt[i], Set: true}}},
		Temperature: r.Temperature, TopP: r.TopP, MaxTokens: r.MaxTokens, N: r.N,
		Stream: r.Stream, StreamOptions: r.StreamOptions, Stop: r.Stop, User: r.User, Seed: r.Seed,
		FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty,
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode chat request: %w", err)
	}
	return b, nil
}

// TextCompletion is a text_completion response object (also the shape of
// its stream chunks).
type TextCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []TextChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
	SystemFingerprint *string      `json:"system_fingerprint"`
	Rampart           *Extension   `json:"rampart,omitempty"`
}

// TextChoice is one choice of a text completion (or of its chunk, where
// finish_reason is null until the last).
type TextChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}
