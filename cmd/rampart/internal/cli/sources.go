package cli

import (
	"io"
	"regexp"
	"strings"
	"unicode"
)

// sourcesHolder streams an answer to w but holds back whatever may still
// become a closing "Sources: …" line, which some models write into the
// answer (rampart-extractive does). When the answer has citations, chat
// prints them as its own Sources block (with titles and URLs), so finish
// drops that line instead of listing the sources twice; slackadapter's
// render does the same for Slack.
type sourcesHolder struct {
	w    io.Writer
	text strings.Builder
	sent int // bytes of text written to w
}

// trailingSourcesLine is a held-back tail that is a closing Sources line.
var trailingSourcesLine = regexp.MustCompile(`^\s*\n\s*Sources:[^\n]*\s*$`)

func (h *sourcesHolder) write(s string) error {
	h.text.WriteString(s)
	full := h.text.String()
	if end := holdFrom(full); end > h.sent {
		if _, err := io.WriteString(h.w, full[h.sent:end]); err != nil {
			return err
		}
		h.sent = end
	}
	return nil
}

// finish writes what was held back, without a closing Sources line when
// dropSources (the citations are printed instead).
func (h *sourcesHolder) finish(dropSources bool) error {
	rest := h.text.String()[h.sent:]
	if dropSources && trailingSourcesLine.MatchString(rest) {
		return nil
	}
	_, err := io.WriteString(h.w, rest)
	return err
}

// holdFrom is how much of the answer so far can be written: all of it but
// a last line that is, or may grow into, "Sources:…" with the whitespace
// before it, or trailing whitespace holding a line break (such a line may
// follow).
func holdFrom(s string) int {
	core := strings.TrimRightFunc(s, unicode.IsSpace)
	nl := strings.LastIndexByte(core, '\n')
	if nl >= 0 {
		last := strings.TrimLeftFunc(core[nl+1:], unicode.IsSpace)
		if strings.HasPrefix(last, "Sources:") || strings.HasPrefix("Sources:", last) {
			return len(strings.TrimRightFunc(core[:nl], unicode.IsSpace))
		}
	}
	if strings.ContainsRune(s[len(core):], '\n') {
		return len(core)
	}
	return len(s)
}
