package index

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/character"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/go-porterstemmer"
)

// AnalyzerName is the analyser of the chunk text field: bleve's English
// analyser (lower case, English stop words, Porter stemming) with a plain
// letters-and-digits tokenizer instead of Unicode word segmentation, which
// was the single largest cost of indexing. Queries use the same analyser.
//
// It runs as one fused pass (fastAnalyzer) that gives exactly the tokens
// of that filter chain (TestFastAnalyzerMatchesChain): ASCII words are
// lower-cased into one buffer per call, looked up in the stop list without
// allocating and stemmed through a memo of the Porter stems already seen
// (text follows Zipf's law: a few thousand words are most tokens); other
// words go through bleve's own filters. It was about a sixth of ingestion's
// CPU as a chain of filters allocating per token.
const AnalyzerName = "rampart_en"

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// chain is the reference analyser: bleve's filters one after another.
func chain(cache *registry.Cache) (*analysis.DefaultAnalyzer, error) {
	lower, err := cache.TokenFilterNamed(lowercase.Name)
	if err != nil {
		return nil, err
	}
	stop, err := cache.TokenFilterNamed(en.StopName)
	if err != nil {
		return nil, err
	}
	stem, err := cache.TokenFilterNamed(porter.Name)
	if err != nil {
		return nil, err
	}
	return &analysis.DefaultAnalyzer{
		Tokenizer:    character.NewCharacterTokenizer(isWordRune),
		TokenFilters: []analysis.TokenFilter{lower, stop, stem},
	}, nil
}

func analyzerConstructor(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
	ref, err := chain(cache)
	if err != nil {
		return nil, err
	}
	stop, err := cache.TokenMapNamed(en.StopName)
	if err != nil {
		return nil, err
	}
	return &fastAnalyzer{filters: ref.TokenFilters, stop: stop}, nil
}

func init() {
	if err := registry.RegisterAnalyzer(AnalyzerName, analyzerConstructor); err != nil {
		panic(err)
	}
}

// fastAnalyzer is the fused form of chain (see AnalyzerName).
type fastAnalyzer struct {
	filters []analysis.TokenFilter // lower, stop, stem: non-ASCII words
	stop    analysis.TokenMap
	stems   stemMemo
}

// Analyze tokenizes like character.CharacterTokenizer (runs of letters and
// digits, positions counted over every word, stopping at the first invalid
// UTF-8 sequence as it does) and filters each word like the chain.
func (a *fastAnalyzer) Analyze(input []byte) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(input)/6+1)
	var slab []analysis.Token
	arena := make([]byte, 0, len(input))
	pos := 0
	eachWord(input, func(start, end int) {
		pos++
		word := input[start:end]
		if !isASCII(word) { // rare: bleve's filters, on a one-token stream
			out = append(out, a.filter(word, start, end, pos)...)
			return
		}
		from := len(arena)
		arena = appendLower(arena, word)
		st := a.stems.get(arena[from:], a.stop)
		if st.stop {
			arena = arena[:from]
			return
		}
		arena = append(arena[:from], st.b...)
		if len(slab) == 0 {
			slab = make([]analysis.Token, 64)
		}
		t := &slab[0]
		slab = slab[1:]
		*t = analysis.Token{Term: arena[from:len(arena):len(arena)], Start: start, End: end, Position: pos, Type: analysis.AlphaNumeric}
		out = append(out, t)
	})
	return out
}

// defaultAnalyzer analyses every collection's chunks and queries (one
// stem memo for the process).
var defaultAnalyzer = func() *fastAnalyzer {
	an, err := analyzerConstructor(nil, registry.NewCache())
	if err != nil {
		panic("lexical analyser: " + err.Error())
	}
	fa, _ := an.(*fastAnalyzer)
	return fa
}()

// count analyses text like Analyze into c (reset first): each distinct
// term with its frequency. It returns the number of terms (the analysed
// length). No token is built: an ASCII word costs its lower-casing, one
// memo look-up and one table update.
func (a *fastAnalyzer) count(text string, c *counter) int {
	input := []byte(text)
	c.reset(len(input))
	n := 0
	var lower []byte
	eachWord(input, func(start, end int) {
		word := input[start:end]
		if !isASCII(word) {
			for _, t := range a.filter(word, start, end, 0) {
				n++
				c.add(termHash(t.Term), string(t.Term))
			}
			return
		}
		lower = appendLower(lower[:0], word)
		if st := a.stems.get(lower, a.stop); !st.stop {
			n++
			c.add(st.h, st.s)
		}
	})
	return n
}

// queryTerms returns the distinct terms of a query, in order.
func (a *fastAnalyzer) queryTerms(text string) []string {
	seen := map[string]bool{}
	var terms []string
	for _, tok := range a.Analyze([]byte(text)) {
		if t := string(tok.Term); !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	return terms
}

// filter runs bleve's filters over one non-ASCII word.
func (a *fastAnalyzer) filter(word []byte, start, end, pos int) analysis.TokenStream {
	ts := analysis.TokenStream{{Term: word, Start: start, End: end, Position: pos, Type: analysis.AlphaNumeric}}
	for _, f := range a.filters {
		ts = f.Filter(ts)
	}
	return ts
}

// eachWord calls word with the bounds of each run of letters and digits,
// stopping at the first invalid UTF-8 sequence (character.CharacterTokenizer
// with isWordRune).
func eachWord(input []byte, word func(start, end int)) {
	start, end := 0, 0
	for off := 0; off < len(input); {
		c := input[off]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRune(input[off:])
			if r == utf8.RuneError {
				break // as the character tokenizer does
			}
		}
		var isWord bool
		if size == 1 {
			isWord = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		} else {
			isWord = isWordRune(r)
		}
		if isWord {
			end = off + size
		} else {
			if end > start {
				word(start, end)
			}
			start = off + size
			end = start
		}
		off += size
	}
	if end > start {
		word(start, end)
	}
}

func isASCII(word []byte) bool {
	for _, c := range word {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendLower appends the ASCII word, lower-cased, to dst.
func appendLower(dst, word []byte) []byte {
	for _, c := range word {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// stemMemo remembers the Porter stems of lower-case ASCII words (stop for
// a word of the stop list: one look-up answers both), sharded so the
// analysis workers rarely wait on each other, bounded in size.
type stemMemo struct {
	shards [16]struct {
		mu sync.RWMutex
		m  map[string]stem
	}
}

// stem is a word's Porter stem, as a string (a map key without a
// conversion), as bytes (a token's term) and its termHash, or stop for a
// stop word.
type stem struct {
	s    string
	b    []byte
	h    uint64
	stop bool
}

const stemMemoMax = 1 << 14 // words per shard (~256k in all)

// get returns word's stem, or stop for a word of the stop list.
func (s *stemMemo) get(word []byte, stops analysis.TokenMap) stem {
	var h uint32 = 2166136261
	for _, c := range word {
		h = (h ^ uint32(c)) * 16777619
	}
	sh := &s.shards[h%uint32(len(s.shards))]
	sh.mu.RLock()
	st, ok := sh.m[string(word)]
	sh.mu.RUnlock()
	if ok {
		return st
	}
	if _, st.stop = stops[string(word)]; !st.stop {
		runes := make([]rune, len(word))
		for i, c := range word {
			runes[i] = rune(c)
		}
		st.b = analysis.BuildTermFromRunes(porterstemmer.StemWithoutLowerCasing(runes))
		st.s = string(st.b)
		st.h = termHash(st.b)
	}
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[string]stem{}
	}
	if len(sh.m) < stemMemoMax {
		sh.m[string(word)] = st
	}
	sh.mu.Unlock()
	return st
}
