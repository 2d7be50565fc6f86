package index

import (
	"bytes"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/go-porterstemmer"

	"github.com/rampart-platform/rampart/pkg/hashembed"
)

// AnalyzerName is the analyser of the chunk text: what bleve's English
// analyser does (lower case, English stop words, Porter stemming) with a
// plain letters-and-digits tokenizer instead of Unicode word segmentation.
// Queries use the same analyser.
//
// It runs as one fused pass (fastAnalyzer) that gives exactly the tokens
// of bleve's filter chain it was defined as (TestFastAnalyzerMatchesChain
// compares the two; bleve is only a test dependency since ADR 0051): ASCII
// words are lower-cased into one buffer per call and looked up in a memo
// of their stems and stop-word status (text follows Zipf's law: a few
// thousand words are most tokens); other words are lower-cased like
// bleve's filter, checked against the stop list and stemmed each time.
// At ingestion a chunk usually comes with its words already split and
// lower-cased by the hash embedder (Entry.Words): then the stems are read
// by word id (countWords) and the text is not scanned at all.
const AnalyzerName = "rampart_en"

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// englishStopWords is bleve's "stop_en" list (Snowball's English stop
// words, BSD licence: snowball.tartarus.org/license.php), as bleve parses
// it (TestStopWordsMatchBleve).
var englishStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are aren't as at
be because been before being below between both but by can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further had hadn't has hasn't have haven't having he
he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into
is isn't it it's its itself let's me more most mustn't my myself no nor not of off on once only or
other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so
some such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
we've were weren't what what's when when's where where's which while who who's whom why why's with
won't would wouldn't you you'd you'll you're you've your yours yourself yourselves`) {
		m[w] = true
	}
	return m
}()

// token is an analysed word: its term and where the word was.
type token struct {
	Term       []byte
	Start, End int
	Position   int // 1-based, over every word (stop words included)
}

// fastAnalyzer is the fused analyser (see AnalyzerName).
type fastAnalyzer struct {
	stop  map[string]bool
	stems *stemMemo // sharedStems
	// byWord is the stems by hashembed word id (countWords; ids are
	// per process, as this is).
	byWord *[hashembed.WordIDs]atomic.Pointer[stem]
}

// Analyze tokenizes like bleve's character tokenizer (runs of letters and
// digits, positions counted over every word, stopping at the first invalid
// UTF-8 sequence as it does) and filters each word like the chain.
func (a *fastAnalyzer) Analyze(input []byte) []token {
	out := make([]token, 0, len(input)/6+1)
	arena := make([]byte, 0, len(input))
	pos := 0
	eachWord(input, func(start, end int) {
		pos++
		word := input[start:end]
		if !isASCII(word) { // rare
			if t, ok := a.filter(word); ok {
				out = append(out, token{Term: t, Start: start, End: end, Position: pos})
			}
			return
		}
		from := len(arena)
		var h uint64
		arena, h = appendLower(arena, word)
		st := a.stems.get(arena[from:], h, a.stop)
		if st.stop {
			arena = arena[:from]
			return
		}
		arena = append(arena[:from], st.b...)
		out = append(out, token{Term: arena[from:len(arena):len(arena)], Start: start, End: end, Position: pos})
	})
	return out
}

// defaultAnalyzer analyses every collection's chunks and queries (one
// stem memo for the process).
var defaultAnalyzer = &fastAnalyzer{stop: englishStopWords, stems: &sharedStems, byWord: &stemsByWord}

// stemsByWord is the default analyser's stems by word id (1 MiB, in the
// BSS: untouched pages cost nothing).
var stemsByWord [hashembed.WordIDs]atomic.Pointer[stem]

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
			if t, ok := a.filter(word); ok {
				n++
				c.add(termHash(t), string(t))
			}
			return
		}
		var h uint64
		lower, h = appendLower(lower[:0], word)
		if st := a.stems.get(lower, h, a.stop); !st.stop {
			n++
			c.add(st.h, st.s)
		}
	})
	return n
}

// countWords is count of an ASCII text of n bytes given as the ids of
// its words (hashembed.VectorV2Words): each word's stem comes from
// byWord, one load at the word's id, filled from the stem memo the first
// time an id comes (the words are what count would lower-case: ASCII
// runs of letters and digits, lower-cased alike).
func (a *fastAnalyzer) countWords(ids []uint32, n int, c *counter) int {
	c.reset(n)
	terms := 0
	for _, id := range ids {
		st := a.byWord[id].Load()
		if st == nil {
			word := hashembed.MemoWord(id)
			_, h := appendLower(nil, word)
			s := a.stems.get(word, h, a.stop)
			st = &s
			a.byWord[id].Store(st)
		}
		if !st.stop {
			terms++
			c.add(st.h, st.s)
		}
	}
	return terms
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

// filter analyses one non-ASCII word as bleve's chain did: lower-cased
// (lowerLikeBleve), dropped if a stop word, else Porter-stemmed rune by
// rune.
func (a *fastAnalyzer) filter(word []byte) ([]byte, bool) {
	lower := lowerLikeBleve(append([]byte(nil), word...))
	if a.stop[string(lower)] {
		return nil, false
	}
	stemmed := porterstemmer.StemWithoutLowerCasing(bytes.Runes(lower))
	out := make([]byte, 0, len(stemmed)*utf8.UTFMax)
	for _, r := range stemmed {
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// lowerLikeBleve lower-cases s in place like bleve's lowercase filter
// (toLowerDeferredCopy): rune by rune with unicode.ToLower, a capital
// sigma ending the word becomes a final sigma, and from the first rune
// whose lower case is longer in UTF-8 on the rest goes through
// bytes.ToLower.
func lowerLikeBleve(s []byte) []byte {
	j := 0
	for i := 0; i < len(s); {
		wid := 1
		r := rune(s[i])
		if r >= utf8.RuneSelf {
			r, wid = utf8.DecodeRune(s[i:])
		}
		l := unicode.ToLower(r)
		if l == r {
			i += wid
			j += wid
			continue
		}
		if l == 'σ' && i+2 == len(s) {
			l = 'ς'
		}
		lwid := utf8.RuneLen(l)
		if lwid > wid {
			rest := bytes.ToLower(s[i:])
			rv := make([]byte, j+len(rest))
			copy(rv[:j], s[:j])
			copy(rv[j:], rest)
			return rv
		}
		utf8.EncodeRune(s[j:], l)
		i += wid
		j += lwid
	}
	return s[:j]
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

// appendLower appends the ASCII word, lower-cased, to dst, and returns
// the FNV-1a hash of what it appended (the stem memo's key).
func appendLower(dst, word []byte) ([]byte, uint64) {
	h := uint64(14695981039346656037)
	for _, c := range word {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
		dst = append(dst, c)
	}
	return dst, h
}

// stemMemo remembers the Porter stems of lower-case ASCII words (stop for
// a word of the stop list: one look-up answers both): an insert-only
// open-addressing table of atomic pointers keyed by the word's hash, so a
// look-up takes no lock and hashes nothing more (text follows Zipf's law:
// a few thousand words are most tokens). At most stemMemoMax words are
// kept (the table stays at most half full, so probing ends); later ones
// are stemmed every time.
type stemMemo struct {
	slots [stemMemoSlots]atomic.Pointer[memoEntry]
	n     atomic.Int32
}

type memoEntry struct {
	h    uint64
	word string
	st   stem
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

// sharedStems is the memo of every analyser (the same stop list and
// stemmer everywhere): 2 MiB of slots, touched as words arrive.
var sharedStems stemMemo

const (
	stemMemoSlots = 1 << 18
	stemMemoMax   = stemMemoSlots / 2
)

// get returns the stem of word (lower-case ASCII, hash h from
// appendLower), or stop for a word of the stop list.
func (s *stemMemo) get(word []byte, h uint64, stops map[string]bool) stem {
	const mask = stemMemoSlots - 1
	start := (h ^ h>>29) & mask
	for i := start; ; i = (i + 1) & mask {
		e := s.slots[i].Load()
		if e == nil {
			break
		}
		if e.h == h && e.word == string(word) {
			return e.st
		}
	}
	var st stem
	if st.stop = stops[string(word)]; !st.stop {
		runes := make([]rune, len(word))
		for i, c := range word {
			runes[i] = rune(c)
		}
		st.b = []byte(string(porterstemmer.StemWithoutLowerCasing(runes)))
		st.s = string(st.b)
		st.h = termHash(st.b)
	}
	if s.n.Load() >= stemMemoMax {
		return st
	}
	e := &memoEntry{h: h, word: string(word), st: st}
	for i := start; ; i = (i + 1) & mask {
		if s.slots[i].CompareAndSwap(nil, e) {
			s.n.Add(1)
			return st
		}
		if o := s.slots[i].Load(); o.h == h && o.word == e.word {
			return st // another goroutine memoised it meanwhile
		}
	}
}
