package bot

import (
	"net/url"
	"regexp"
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
		// One line per document: "[1][2] <url|title>".
		var order []string
		marks, first := map[string]string{}, map[string]citation{}
		for _, c := range cites {
			key := c.DocumentID + "\x00" + c.URL + "\x00" + c.Source
			if _, ok := first[key]; !ok {
				order, first[key] = append(order, key), c
			}
			marks[key] += "[" + strconv.Itoa(c.Index) + "]"
		}
		var sb strings.Builder
		sb.WriteString("*Sources*")
		for _, key := range order {
			line := "\n" + marks[key] + " " + link(first[key])
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
