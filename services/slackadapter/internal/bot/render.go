package bot

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
)

// Slack limits: a section's text is at most 3000 characters, a message at
// most 50 blocks.
const (
	maxSectionText = 2900
	maxSections    = 40
)

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
// one, else its source as text.
func link(c citation) string {
	label := c.Title
	if label == "" {
		label = c.Source
	}
	if label == "" {
		label = c.DocumentID
	}
	label = strings.NewReplacer("|", "¦").Replace(escape(label))
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if c.Title != "" && c.Source != "" && c.Source != c.Title {
			return label + " (" + escape(c.Source) + ")"
		}
		return label
	}
	// "|" and ">" end the URL part of <url|label>; percent-encode them.
	href := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(u.String())
	return "<" + href + "|" + label + ">"
}

// answerBlocks lays out an answer: the text in sections, then the sources
// as links, then the grounding warning if any.
func answerBlocks(text string, cites []citation, warning string) []slack.Block {
	var blocks []slack.Block
	body := mrkdwn(text)
	for body != "" && len(blocks) < maxSections {
		part := body
		if len(part) > maxSectionText {
			cut := strings.LastIndexAny(part[:maxSectionText], "\n ")
			if cut <= 0 {
				cut = maxSectionText
			}
			part = part[:cut]
		}
		body = strings.TrimLeft(body[len(part):], "\n ")
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, part, false, false), nil, nil))
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
			if sb.Len()+len(line) > maxSectionText {
				break
			}
			sb.WriteString(line)
		}
		blocks = append(blocks, slack.NewDividerBlock(),
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, sb.String(), false, false), nil, nil))
	}
	if warning != "" {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, ":warning: "+escape(warning), false, false)))
	}
	return blocks
}

// trailingSources matches a closing "Sources: …" paragraph some answerers
// append (rampart-extractive does); the Sources block replaces it.
var trailingSources = regexp.MustCompile(`(?s)\n\s*Sources:[^\n]*\s*$`)

// render is the final message of an answer (or of its failure).
func render(ans answer, err error) slackapi.Message {
	if err != nil {
		text := failure(err)
		return slackapi.Message{Text: text, Blocks: answerBlocks(text, nil, "")}
	}
	text := ans.text
	if len(ans.citations) > 0 {
		if t := strings.TrimSpace(trailingSources.ReplaceAllString(text, "")); t != "" {
			text = t
		}
	}
	// The fallback text is parsed by Slack too (notifications): escaped.
	return slackapi.Message{Text: escape(text), Blocks: answerBlocks(text, ans.citations, ans.warning)}
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
