package local

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/pkg/hashembed"
	sentences "github.com/rampart-platform/rampart/pkg/sentence"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// maxQuotes is how many sentences an extractive answer quotes at most.
const maxQuotes = 3

// minRelativeScore is the share of the best sentence's score another
// sentence needs to be quoted too.
const minRelativeScore = 0.5

// NoAnswer is the reply when the context holds nothing relevant.
const NoAnswer = "I could not find an answer to this in the provided context."

// NoAnswerDocuments is the reply of a grounded call whose retrieved passages
// hold nothing relevant.
const NoAnswerDocuments = "The documents do not contain an answer to this question."

type sentence struct {
	text   string
	source string
	order  int
	terms  map[string]bool
	cite   wire.Citation // the passage's identity (grounded calls)
	// heading and score locate the passage in its document, loc the
	// sentence (nil: not known).
	heading string
	score   float64
	loc     *wire.Location
	// retrieved: the sentence is of a passage, not of a message
	retrieved bool
}

// extract composes an answer of quoted context sentences. Sources, in order:
// retrieved passages, system/developer messages, then user messages before
// the last one, then the last user message's own non-question sentences.
func extract(call *provider.ChatCall) *provider.ChatResult {
	r := call.Request
	lastUser := -1
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			lastUser = i
			break
		}
	}
	question := ""
	if lastUser >= 0 {
		question = r.Messages[lastUser].Content.Text
	}
	best := rank(withoutEchoes(contextSentences(call, lastUser, question), question), questionTerms(question))
	if len(best) == 0 {
		if call.Grounded {
			return truncate(NoAnswerDocuments, r.MaxOutputTokens())
		}
		return truncate(NoAnswer, r.MaxOutputTokens())
	}
	return quote(call, best)
}

// contextSentences are the sentences an answer may quote, in the order of
// extract's sources.
func contextSentences(call *provider.ChatCall, lastUser int, question string) []sentence {
	var sents []sentence
	var heading string
	var score float64
	var passage *provider.Passage // the passage text is from, to locate its sentences
	add := func(text, source string, skipQuestions bool, cite wire.Citation) {
		at := 0 // where the next sentence is searched in text
		for _, s := range splitSentences(text) {
			if skipQuestions && strings.HasSuffix(s, "?") {
				continue
			}
			// A Markdown heading marker is not part of the answer; chunked
			// documents may carry the heading text joined to the sentence
			// that follows it, so only the marker is dropped.
			if s = strings.TrimSpace(strings.TrimLeft(s, "#")); s == "" {
				continue
			}
			// s is a substring of text, found from the previous sentence on
			i := strings.Index(text[at:], s)
			for _, w := range windows(s, maxSentence) {
				part := s[w[0]:w[1]]
				var loc *wire.Location
				if passage != nil && i >= 0 {
					loc = passage.Locate(at+i+w[0], at+i+w[1])
				}
				sents = append(sents, sentence{text: ellipsize(part, w[0] > 0, w[1] < len(s)), source: source, order: len(sents),
					terms: termSet(part), cite: cite, heading: heading, score: score, loc: loc, retrieved: passage != nil})
			}
			if i >= 0 {
				at += i + len(s)
			}
		}
	}
	for _, p := range call.Passages {
		// Cite a document by its source (file name or URL), else its
		// title, else the passage id: never by the message it came in.
		// A passage without a document is told apart by its id; one with a
		// document is cited once per document, its ids in the passages.
		src := cmp.Or(p.Source, p.Title, p.DocumentID, p.ID)
		if !call.Grounded && p.ID != "" && p.Source != "" && p.DocumentID == "" {
			src = p.Source + " (" + p.ID + ")"
		}
		heading, score, passage = p.Heading, p.Score, &p
		add(p.Text, src, false, wire.Citation{DocumentID: p.DocumentID, Title: p.Title, URL: p.URL, ChunkID: p.ID})
	}
	heading, score, passage = "", 0, nil
	// A grounded answer quotes the retrieved documents only: the system
	// prompt or earlier turns are not sources.
	if call.Grounded {
		return sents
	}
	userN := 0
	for i, m := range call.Request.Messages {
		switch {
		case m.Role == "system" || m.Role == "developer":
			add(m.Content.Text, m.Role+" message", false, wire.Citation{})
		case m.Role == "user" && i != lastUser:
			userN++
			add(m.Content.Text, "user message "+strconv.Itoa(userN), false, wire.Citation{})
		case m.Role == "tool":
			add(m.Content.Text, "tool result "+m.ToolCallID, false, wire.Citation{})
		}
	}
	if lastUser >= 0 {
		add(question, "user message (question)", true, wire.Citation{})
	}
	return sents
}

// questionTerms are the terms of the last user message's sentences ending
// in "?" (context pasted before it is not part of the query), else of all
// of it.
func questionTerms(question string) map[string]bool {
	var qs []string
	for _, s := range splitSentences(question) {
		if strings.HasSuffix(s, "?") {
			qs = append(qs, s)
		}
	}
	if len(qs) > 0 {
		return termSet(strings.Join(qs, " "))
	}
	return termSet(question)
}

// minEchoWords is how many words a question needs before a sentence holding
// it word for word counts as asking it rather than answering it (a shorter
// one, "rotation policy", is a phrase an answer uses too).
const minEchoWords = 4

// withoutEchoes drops the sentences of retrieved passages that hold the
// question's words in its order: a README's example command line that
// asks the question (`rampart chat "How are API keys rotated?"`) shares
// every term with it and would be quoted as the answer (ADR 0133). The
// question's own sentences are not retrieved passages: they are kept here
// and handled by contextSentences.
func withoutEchoes(sents []sentence, question string) []sentence {
	var echoes []string
	for _, q := range splitSentences(question) {
		if w := hashembed.Words(q); len(w) >= minEchoWords {
			echoes = append(echoes, " "+strings.Join(w, " ")+" ")
		}
	}
	if len(echoes) == 0 {
		return sents
	}
	return slices.DeleteFunc(sents, func(s sentence) bool {
		if !s.retrieved {
			return false
		}
		text := " " + strings.Join(hashembed.Words(s.text), " ") + " "
		return slices.ContainsFunc(echoes, func(e string) bool { return strings.Contains(text, e) })
	})
}

// rank scores each sentence by the question terms it shares (weighted by
// how rare each is among the sentences) and returns the best ones, at most
// maxQuotes: the best first, the answer's lead, then the others in their
// original order. Quoting in passage order put the top passage's sentence
// first even when another passage's sentence answers more of the question
// (ADR 0133).
func rank(sents []sentence, qterms map[string]bool) []sentence {
	df := map[string]int{}
	for _, s := range sents {
		for t := range s.terms {
			if qterms[t] {
				df[t]++
			}
		}
	}
	type scored struct {
		s     sentence
		score float64
	}
	var cands []scored
	for _, s := range sents {
		score := 0.0
		for t := range s.terms {
			if qterms[t] {
				score += 1 + math.Log(float64(len(sents))/float64(df[t]))
			}
		}
		if score > 0 {
			cands = append(cands, scored{s, score})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if len(cands) > maxQuotes {
		cands = cands[:maxQuotes]
	}
	// Sentences sharing much less with the question than the best one
	// (a heading, a sentence that only repeats the topic word) are noise.
	for i := 1; i < len(cands); i++ {
		if cands[i].score < minRelativeScore*cands[0].score {
			cands = cands[:i]
			break
		}
	}
	if len(cands) > 1 {
		rest := cands[1:]
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].s.order < rest[j].s.order })
	}
	out := make([]sentence, len(cands))
	for i, c := range cands {
		out[i] = c.s
	}
	return out
}

// quote writes the answer: the sentences quoted, each marked with its
// document's number, then the documents, one citation each with the
// sentences quoted from it as its passages (docs/adr/0079).
func quote(call *provider.ChatCall, best []sentence) *provider.ChatResult {
	var b strings.Builder
	if call.Grounded {
		b.WriteString("From the documents:")
	} else {
		b.WriteString("From the provided context:")
	}
	var cites []wire.Citation
	at := map[string]int{}
	for _, s := range best {
		key := cmp.Or(s.cite.DocumentID, s.source)
		i, ok := at[key]
		if !ok {
			i = len(cites)
			at[key] = i
			cite := s.cite
			cite.Index, cite.Source, cite.Quote = i+1, s.source, s.text
			cites = append(cites, cite)
		}
		cites[i].Passages = append(cites[i].Passages, wire.CitedPassage{ChunkID: s.cite.ChunkID, Quote: s.text, Heading: s.heading, Score: s.score, Location: s.loc})
		b.WriteString(" \"")
		b.WriteString(s.text)
		b.WriteString("\" [")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString("]")
	}
	b.WriteString("\n\nSources: ")
	for i, c := range cites {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("[" + strconv.Itoa(c.Index) + "] " + c.Source)
	}
	res := truncate(b.String(), call.Request.MaxOutputTokens())
	res.Citations = cites
	return res
}

// maxSentence bounds the bytes of one quoted sentence. Ingestion squeezes
// a chunk's white space, so a fenced code block or a list in it is one
// long run-on "sentence"; quoting it whole buries the answer.
const maxSentence = 240

// windows cuts s into consecutive, about equally long byte ranges of
// whole words of at most limit bytes each (one range when s fits), so a
// run-on sentence is ranked and quoted by its parts: the part sharing
// most with the question is the one quoted. A word longer than limit is
// cut on a rune boundary.
func windows(s string, limit int) [][2]int {
	if len(s) <= limit {
		return [][2]int{{0, len(s)}}
	}
	n := (len(s) + limit - 1) / limit
	target := (len(s) + n - 1) / n // balanced parts: no stub of a word or two at the end
	var out [][2]int
	for start := 0; start < len(s); {
		end := len(s)
		if end-start > limit {
			// the first space from target on, else the last one before it
			if j := strings.IndexAny(s[start+target:start+limit+1], " \t"); j >= 0 {
				end = start + target + j
			} else {
				end = start + strings.LastIndexAny(s[start:start+target], " \t")
			}
			if end <= start {
				end = start + max(len(cutRunes(s[start:], target)), 1)
			}
		}
		out = append(out, [2]int{start, start + len(strings.TrimRight(s[start:end], " \t"))})
		start = end + len(s[end:]) - len(strings.TrimLeft(s[end:], " \t"))
	}
	return out
}

// ellipsize marks a part of a sentence cut before and/or after it.
func ellipsize(part string, before, after bool) string {
	if before {
		part = "…" + part
	}
	if after {
		part += "…"
	}
	return part
}

// splitSentences splits text into trimmed sentences without their
// "Context:"-style labels (pkg/sentence, the splitter ingestion chunks
// with).
func splitSentences(text string) []string {
	return sentences.Split(text, func(s string) string { return stripLabel(strings.TrimSpace(s)) })
}

// stripLabel removes a leading "Context:"-style label from a sentence.
func stripLabel(s string) string {
	head, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	switch strings.ToLower(strings.TrimSpace(head)) {
	case "context", "question", "passage", "document", "source", "q", "a", "answer":
		return strings.TrimSpace(rest)
	}
	return s
}

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an and are as at be by can could did do does for from had has have how i in is it its me my of on or our so that the their there these this to was we were what when where which who why will with would you your about into than then them they not no yes") {
		stopwords[w] = true
	}
}

// termSet returns the stemmed, lower-cased content words of s.
func termSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range hashembed.Words(s) {
		if !stopwords[w] && (len(w) > 1 || unicode.IsDigit(rune(w[0]))) {
			set[stem(w)] = true
		}
	}
	return set
}

// stem is a deliberately small suffix stripper (plural, -ing, -ed) so
// "refunds" matches "refund" and "opening" matches "open".
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		return w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// cutRunes cuts s to at most n bytes without splitting a rune.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
