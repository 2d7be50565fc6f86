package tokenizer

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"github.com/pkoukk/tiktoken-go"
	"github.com/pkoukk/tiktoken-go-loader/assets"

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

// bpe is a lazily loaded encoding: tiktoken's pre-tokenising pattern (the
// same regular expression and engine as tiktoken-go, so text splits into
// the same pieces) and a compact vocabulary (vocab.go).
type bpe struct {
	name    string
	pattern string
	once    sync.Once
	re      *regexp2.Regexp
	v       *vocab
	err     error
}

// Patterns of tiktoken-go v0.1.8 (encoding.go), pinned by a test against
// the library.
const (
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	o200kPattern  = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|\p{N}{1,3}` +
		`| ?[^\s\p{L}\p{N}]+[\r\n/]*` +
		`|\s*[\r\n]+` +
		`|\s+(?!\S)` +
		`|\s+`
)

func (b *bpe) load() error {
	b.once.Do(func() {
		src, err := assets.Assets.ReadFile(b.name + ".tiktoken")
		if err != nil {
			b.err = err
			return
		}
		if b.v, b.err = parseVocab(src); b.err != nil {
			b.err = fmt.Errorf("%s: %w", b.name, b.err)
			return
		}
		b.re, b.err = regexp2.Compile(b.pattern, regexp2.None)
	})
	return b.err
}

// scratch is one Count's working memory, pooled: the text as runes (the
// regular expression engine matches runes), a piece's UTF-8 bytes and the
// merge's parts.
type scratch struct {
	runes []rune
	piece []byte
	parts []part
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// Count implements Counter; if the vocabulary cannot load (it is embedded,
// so only a broken build) it falls back to the estimate.
func (b *bpe) Count(s string) int {
	if s == "" {
		return 0
	}
	if b.load() != nil {
		return provider.EstimateTokens(s)
	}
	sc, _ := scratches.Get().(*scratch)
	defer scratches.Put(sc)
	// As tiktoken-go: the text as runes (invalid UTF-8 becomes U+FFFD), each
	// match cut out of them and encoded back to UTF-8.
	sc.runes = sc.runes[:0]
	for _, r := range s {
		sc.runes = append(sc.runes, r)
	}
	n := 0
	m, err := b.re.FindRunesMatch(sc.runes)
	for m != nil && err == nil {
		sc.piece = sc.piece[:0]
		for _, r := range sc.runes[m.Index : m.Index+m.Length] {
			sc.piece = utf8.AppendRune(sc.piece, r)
		}
		n += b.v.countPiece(sc.piece, &sc.parts)
		m, err = b.re.FindNextMatch(m)
	}
	return n
}

func (b *bpe) Exact() bool { return b.load() == nil }

var encodings = map[string]*bpe{
	CL100KBase: {name: CL100KBase, pattern: cl100kPattern},
	O200KBase:  {name: O200KBase, pattern: o200kPattern},
}

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
