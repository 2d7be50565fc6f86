package tokenizer

import (
	"fmt"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
)

// Encodings that can be named in the registry.
const (
	Estimate   = "estimate"
	CL100KBase = "cl100k_base"
	O200KBase  = "o200k_base"
)

// Counter counts the tokens of a text.
type Counter interface {
	Count(s string) int
	// Exact is false for the byte-length estimate.
	Exact() bool
}

type estimate struct{}

func (estimate) Count(s string) int { return provider.EstimateTokens(s) }
func (estimate) Exact() bool        { return false }

// EstimateCounter is the documented estimate.
var EstimateCounter Counter = estimate{}

var loaderOnce sync.Once

// setLoader installs the offline loader: tiktoken-go keeps its loader in a
// package variable, so this is done once, before any encoding is built.
func setLoader() { tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader()) }

// bpe is a lazily loaded encoding.
type bpe struct {
	name string
	once sync.Once
	enc  *tiktoken.Tiktoken
	err  error
}

func (b *bpe) load() (*tiktoken.Tiktoken, error) {
	b.once.Do(func() {
		loaderOnce.Do(setLoader)
		b.enc, b.err = tiktoken.GetEncoding(b.name)
	})
	return b.enc, b.err
}

// Count implements Counter; if the vocabulary cannot load (it is embedded,
// so only a broken build) it falls back to the estimate.
func (b *bpe) Count(s string) int {
	if s == "" {
		return 0
	}
	enc, err := b.load()
	if err != nil {
		return provider.EstimateTokens(s)
	}
	return len(enc.EncodeOrdinary(s))
}

func (b *bpe) Exact() bool {
	_, err := b.load()
	return err == nil
}

var encodings = map[string]*bpe{CL100KBase: {name: CL100KBase}, O200KBase: {name: O200KBase}}

// Check validates a registry tokenizer setting ("" = automatic).
func Check(name string) error {
	if name == "" || name == Estimate || encodings[name] != nil {
		return nil
	}
	return fmt.Errorf("tokenizer must be %s, %s or %s, got %q", Estimate, CL100KBase, O200KBase, name)
}

// For returns the counter for a model: the registry's explicit tokenizer
// if set, else tiktoken's encoding for upstreamModel when the provider is
// OpenAI-compatible and tiktoken knows the name, else the estimate.
func For(providerName, upstreamModel, configured string) Counter {
	switch {
	case configured == Estimate:
		return EstimateCounter
	case configured != "":
		if b := encodings[configured]; b != nil {
			return b
		}
		return EstimateCounter
	case providerName != "openai":
		return EstimateCounter
	}
	if name := encodingFor(upstreamModel); name != "" {
		return encodings[name]
	}
	return EstimateCounter
}

// encodingFor maps a model name to an encoding we ship, like
// tiktoken.EncodingForModel but without loading anything.
func encodingFor(model string) string {
	if e, ok := tiktoken.MODEL_TO_ENCODING[model]; ok {
		if encodings[e] != nil {
			return e
		}
		return ""
	}
	for prefix, e := range tiktoken.MODEL_PREFIX_TO_ENCODING {
		if len(model) >= len(prefix) && model[:len(prefix)] == prefix && encodings[e] != nil {
			return e
		}
	}
	return ""
}
