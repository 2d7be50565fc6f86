package rag

import (
	"strings"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// QueryTurns is how many user turns (the last one included) the retrieval
// query is made of, so a follow-up ("and for contractors?") still finds the
// passages the conversation is about.
const QueryTurns = 3

// MaxQueryBytes is ingestion's bound on a search query.
const MaxQueryBytes = 4096

// QueryText is the retrieval query of a conversation: the last QueryTurns
// user messages, oldest first, one per line, keeping the newest text when
// it is longer than MaxQueryBytes. "" when there is no user message.
func QueryText(msgs []wire.Message) string {
	var turns []string
	for i := len(msgs) - 1; i >= 0 && len(turns) < QueryTurns; i-- {
		if msgs[i].Role != "user" {
			continue
		}
		if t := strings.TrimSpace(msgs[i].Content.Text); t != "" {
			turns = append(turns, t)
		}
	}
	var b strings.Builder
	for i := len(turns) - 1; i >= 0; i-- {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(turns[i])
	}
	q := b.String()
	if len(q) > MaxQueryBytes {
		q = q[len(q)-MaxQueryBytes:]
		// Do not start inside a UTF-8 sequence.
		for len(q) > 0 && q[0]&0xC0 == 0x80 {
			q = q[1:]
		}
	}
	return strings.TrimSpace(q)
}
