package bot

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/slack-go/slack"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
)

// Slack's limits on one message, counted in UTF-16 code units (what
// Slack counts; never fewer than the characters): a section's text at most
// 3,000; at most 50 blocks; in all at most about 12,000 characters of
// block text, past which chat.postMessage and chat.update answer
// msg_blocks_too_long (slackapi/bolt-js#2509: "12,000 text characters with
// a buffer for block containers"); a text field of at most 4,000, past
// which they answer msg_too_long (the 40,000 of the 2018 changelog no
// longer holds). An answer past these is split into several messages
// (docs/adr/0125).
const (
	maxSectionText  = 2900
	maxMessageText  = 11000
	maxFallbackText = 3000
	maxBlocks       = 50
	// maxAnswerText bounds what of one answer is posted (about four
	// messages); the rest is cut with a note.
	maxAnswerText = 40000
)

// cutNote ends an answer cut at maxAnswerText.
const cutNote = "_(The answer was cut here: it is longer than Rampart posts in Slack.)_"

// escape makes text inert in Slack mrkdwn: an answer quoting a document
// that says "<!channel>" or "<https://evil|bank>" must not ping or link.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var bold = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)

// mrkdwn turns the model's Markdown into Slack mrkdwn, escaped.
func mrkdwn(s string) string {
	return bold.ReplaceAllString(escape(s), "*$1*")
}

// link renders a citation: a Slack link to its URL when it has an http(s)
// one, else its source as text. Credentials in a URL (a source ingested as
// https://user:token@host/…) are never shown: the answer is read by the
// whole channel, Slack Connect guests included (docs/adr/0125).
func link(c citation) string {
	label := withoutUserinfo(c.Title)
	if label == "" {
		label = withoutUserinfo(c.Source)
	}
	if label == "" {
		label = c.DocumentID
	}
	label = strings.NewReplacer("|", "¦").Replace(escape(label))
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if src := withoutUserinfo(c.Source); c.Title != "" && src != "" && src != c.Title {
			return label + " (" + escape(src) + ")"
		}
		return label
	}
	u.User = nil
	// "|" and ">" end the URL part of <url|label>; percent-encode them.
	href := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(u.String())
	return "<" + href + "|" + label + ">"
}

// withoutUserinfo is s without the user:password@ of a URL it holds
// (anything else unchanged).
func withoutUserinfo(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Host == "" {
		return s
	}
	u.User = nil
	return u.String()
}

// escLen is how much r counts toward Slack's limits once escaped.
func escLen(r rune) int {
	switch r {
	case '&':
		return len("&amp;")
	case '<', '>':
		return len("&lt;")
	}
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}

// slackLen is the length of already escaped text as Slack counts it.
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// splitText cuts raw (unescaped) text into parts that are each at most
// limit once escaped: at a line break or a space in the part's second
// half if there is one, never inside a character (an answer in a language
// without spaces) or an escape (a part is escaped after the cut).
// Whitespace at a cut is dropped.
func splitText(s string, limit int) []string {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		end, n := len(s), 0
		for i, r := range s {
			if n += escLen(r); n > limit {
				end = i
				break
			}
		}
		cut := end
		if end < len(s) {
			if i := strings.LastIndexByte(s[:end], '\n'); i > end/2 {
				cut = i
			} else if i := strings.LastIndexByte(s[:end], ' '); i > end/2 {
				cut = i
			}
		}
		if cut == 0 { // a first character past limit: never, limit ≥ 4
			cut = len(s)
		}
		parts = append(parts, strings.TrimRight(s[:cut], " \n"))
		s = strings.TrimLeft(s[cut:], " \n")
	}
	return parts
}

// piece is blocks that stay together in one message: a section of the
// answer, the sources (with their divider), the warning.
type piece struct {
	blocks []slack.Block
	size   int    // block text, as Slack counts it
	text   string // its part of the fallback text, escaped ("" for none)
}

func mrkdwnSection(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// answerPieces lays out an answer: the text in sections, then the sources
// as links, then the grounding warning if any.
func answerPieces(text string, cites []citation, warning string) []piece {
	var pieces []piece
	cut := false
	n := 0
	for i, r := range text {
		if n += escLen(r); n > maxAnswerText {
			text, cut = text[:i], true
			break
		}
	}
	for _, part := range splitText(text, maxSectionText) {
		body := mrkdwn(part)
		pieces = append(pieces, piece{blocks: []slack.Block{mrkdwnSection(body)}, size: slackLen(body), text: escape(part)})
	}
	if cut {
		pieces = append(pieces, piece{blocks: []slack.Block{mrkdwnSection(cutNote)}, size: len(cutNote)})
	}
	if len(cites) > 0 {
		// One line per document: "[1][2] <url|title> (p. 3)".
		var order []string
		marks, first := map[string]string{}, map[string]citation{}
		locs := map[string][]*location{}
		for _, c := range cites {
			key := c.DocumentID + "\x00" + c.URL + "\x00" + c.Source
			if _, ok := first[key]; !ok {
				order, first[key] = append(order, key), c
			}
			marks[key] += "[" + strconv.Itoa(c.Index) + "]"
			for _, p := range c.Passages {
				locs[key] = append(locs[key], p.Location)
			}
		}
		var sb strings.Builder
		sb.WriteString("*Sources*")
		for _, key := range order {
			line := "\n" + marks[key] + " " + link(first[key])
			if w := where(locs[key]); w != "" {
				line += " (" + w + ")"
			}
			if slackLen(sb.String())+slackLen(line) > maxSectionText {
				break
			}
			sb.WriteString(line)
		}
		pieces = append(pieces, piece{blocks: []slack.Block{slack.NewDividerBlock(), mrkdwnSection(sb.String())}, size: slackLen(sb.String())})
	}
	if warning != "" {
		w := ":warning: " + escape(splitText(warning, maxSectionText-len(":warning: "))[0])
		pieces = append(pieces, piece{blocks: []slack.Block{slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, w, false, false))}, size: slackLen(w)})
	}
	return pieces
}

// pack puts pieces in order into as few messages as Slack's limits allow.
// A message's fallback text is its part of the answer (escaped: Slack
// parses it too, in notifications), cut to maxFallbackText.
func pack(pieces []piece, fallback string) []slackapi.Message {
	var msgs []slackapi.Message
	var cur slackapi.Message
	var texts []string
	size := 0
	flush := func() {
		if len(cur.Blocks) == 0 {
			return
		}
		cur.Text = fallbackText(strings.Join(texts, "\n"), fallback)
		msgs = append(msgs, cur)
		cur, texts, size = slackapi.Message{}, nil, 0
	}
	for _, p := range pieces {
		if size+p.size > maxMessageText || len(cur.Blocks)+len(p.blocks) > maxBlocks {
			flush()
		}
		cur.Blocks = append(cur.Blocks, p.blocks...)
		size += p.size
		if p.text != "" {
			texts = append(texts, p.text)
		}
	}
	flush()
	if len(msgs) == 0 {
		msgs = append(msgs, slackapi.Message{Text: fallback})
	}
	return msgs
}

// fallbackText is escaped text cut to maxFallbackText at a space if it can
// be, never inside an escape or a character; ifEmpty when there is none.
func fallbackText(text, ifEmpty string) string {
	if text == "" {
		return ifEmpty
	}
	if slackLen(text) <= maxFallbackText {
		return text
	}
	end, n := 0, 0
	for i, r := range text {
		if n += max(utf16.RuneLen(r), 1); n > maxFallbackText-1 {
			end = i
			break
		}
	}
	if amp := strings.LastIndexByte(text[:end], '&'); amp >= 0 && !strings.Contains(text[amp:end], ";") {
		end = amp
	}
	if sp := strings.LastIndexByte(text[:end], ' '); sp > end/2 {
		end = sp
	}
	return strings.TrimRight(text[:end], " \n") + "…"
}

// trailingSources matches a closing "Sources: …" paragraph some answerers
// append (rampart-extractive does); the Sources block replaces it.
var trailingSources = regexp.MustCompile(`(?s)\n\s*Sources:[^\n]*\s*$`)

// render is the messages of an answer (or of its failure), in order: the
// first replaces the placeholder, the others follow it in the thread (at
// a response_url, each is one more response). Each is within Slack's
// limits.
func render(ans answer, err error) []slackapi.Message {
	if err != nil {
		text := failure(err)
		return pack(answerPieces(text, nil, ""), escape(text))
	}
	text := ans.text
	if len(ans.citations) > 0 {
		if t := strings.TrimSpace(trailingSources.ReplaceAllString(text, "")); t != "" {
			text = t
		}
	}
	return pack(answerPieces(text, ans.citations, ans.warning), "Sources")
}

// partial is what replaces the placeholder while the answer streams: the
// start of its first message, marked as unfinished.
func partial(text string) slackapi.Message {
	m := render(answer{text: text}, nil)[0]
	m.Text += " …"
	m.Blocks = append(m.Blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "…", false, false)))
	return m
}

// where says where a document's cited passages are, for a reader opening
// it: its pages ("p. 3", "pp. 3, 5–6") when it has pages, else its lines
// ("line 4", "lines 4–6, 9"); "" when no passage is located (a document
// ingested before locations were recorded, docs/adr/0085).
func where(locs []*location) string {
	var pages, lines [][2]int
	for _, l := range locs {
		switch {
		case l == nil:
		case l.Page > 0:
			pages = append(pages, [2]int{l.Page, max(l.PageEnd, l.Page)})
		case l.Line > 0:
			lines = append(lines, [2]int{l.Line, max(l.LineEnd, l.Line)})
		}
	}
	if len(pages) > 0 {
		return ranges(pages, "p. ", "pp. ")
	}
	if len(lines) > 0 {
		return ranges(lines, "line ", "lines ")
	}
	return ""
}

// ranges writes sorted, merged ranges after one (a single number) or many.
func ranges(rs [][2]int, one, many string) string {
	slices.SortFunc(rs, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	merged := rs[:1]
	for _, r := range rs[1:] {
		if last := &merged[len(merged)-1]; r[0] <= last[1]+1 {
			last[1] = max(last[1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	parts := make([]string, len(merged))
	for i, r := range merged {
		parts[i] = strconv.Itoa(r[0])
		if r[1] > r[0] {
			parts[i] += "–" + strconv.Itoa(r[1])
		}
	}
	if len(merged) == 1 && merged[0][0] == merged[0][1] {
		return one + parts[0]
	}
	return many + strings.Join(parts, ", ")
}
