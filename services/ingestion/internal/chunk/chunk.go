package chunk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options size the windows.
type Options struct {
	// Tokens is the target window size in approximate tokens (default 300).
	Tokens int
	// Overlap is how many tokens of trailing sentences a window repeats
	// from the previous one (default 50; less than Tokens).
	Overlap int
}

func (o Options) norm() Options {
	if o.Tokens <= 0 {
		o.Tokens = 300
	}
	if o.Overlap < 0 || o.Overlap >= o.Tokens {
		o.Overlap = o.Tokens / 6
	}
	return o
}

// Tokens approximates the token count of s the way BPE tokenizers behave
// on English prose: about one token per four bytes of a word, at least one
// per word, and one per punctuation mark.
func Tokens(s string) int {
	n := 0
	inWord, wordLen := false, 0
	flush := func() {
		if inWord {
			n += max(1, (wordLen+3)/4)
		}
		inWord, wordLen = false, 0
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			inWord = true
			wordLen += utf8.RuneLen(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			n++
		}
	}
	flush()
	return n
}

// Split cuts text into windows of about o.Tokens tokens that end at
// sentence boundaries where possible, each starting with the last
// sentences (up to o.Overlap tokens) of the previous one. Sentences longer
// than a window are cut at word boundaries. Blank text yields no chunks.
func Split(text string, o Options) []string {
	o = o.norm()
	var sents []piece
	for _, s := range sentences(text) {
		sents = append(sents, fit(s, o.Tokens)...)
	}
	var out []string
	var cur []piece
	curTok := 0
	emit := func() {
		parts := make([]string, len(cur))
		for i, p := range cur {
			parts[i] = p.text
		}
		out = append(out, strings.Join(parts, " "))
	}
	for i := 0; i < len(sents); i++ {
		s := sents[i]
		if curTok+s.tokens > o.Tokens && len(cur) > 0 {
			emit()
			// keep trailing sentences as overlap, but always make progress
			var keep []piece
			kt := 0
			for j := len(cur) - 1; j >= 1; j-- {
				if kt+cur[j].tokens > o.Overlap {
					break
				}
				kt += cur[j].tokens
				keep = append([]piece{cur[j]}, keep...)
			}
			if kt+s.tokens > o.Tokens {
				keep, kt = nil, 0
			}
			cur, curTok = keep, kt
		}
		cur = append(cur, s)
		curTok += s.tokens
	}
	if len(cur) > 0 {
		emit()
	}
	return out
}

type piece struct {
	text   string
	tokens int
}

// sentences splits at . ! ? followed by space, and at blank lines and line
// breaks (headings, list items), trimming each.
func sentences(text string) []string {
	var out []string
	start := 0
	add := func(end int) {
		if s := strings.Join(strings.Fields(text[start:end]), " "); s != "" {
			out = append(out, s)
		}
		start = end
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			add(i + 1)
		case (c == '.' || c == '!' || c == '?') && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n' || text[i+1] == '\t'):
			add(i + 1)
		}
	}
	add(len(text))
	return out
}

// fit cuts a sentence longer than limit tokens into word-aligned parts.
func fit(s string, limit int) []piece {
	t := Tokens(s)
	if t <= limit {
		return []piece{{s, t}}
	}
	var out []piece
	var b strings.Builder
	bt := 0
	for _, w := range strings.Fields(s) {
		wt := Tokens(w)
		if bt+wt > limit && bt > 0 {
			out = append(out, piece{b.String(), bt})
			b.Reset()
			bt = 0
		}
		if wt > limit { // a single enormous "word": cut by bytes
			for _, part := range cutBytes(w, limit*4) {
				out = append(out, piece{part, Tokens(part)})
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		bt += wt
	}
	if bt > 0 {
		out = append(out, piece{b.String(), bt})
	}
	return out
}

func cutBytes(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		if i == 0 {
			i = n
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
