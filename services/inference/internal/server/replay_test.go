package server_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// A stored response's reasoning items are replayed through
// previous_response_id (ADR 0120 §3): a stored request that asks for
// reasoning has the upstream return the items' encrypted_content, the
// conversation keeps them before the messages they preceded, and a
// native upstream gets them back in place, streamed or not; the chat path
// has no place for them.
func TestReasoningReplay(t *testing.T) {
	e, fake := nativeEnv(t)
	reasoning := func(summary, enc string) map[string]any {
		return map[string]any{"type": "reasoning", "id": "rs_fake1", "summary": []any{map[string]any{"type": "summary_text", "text": summary}}, "encrypted_content": enc}
	}
	msg := func(role, text string) map[string]any {
		return map[string]any{"type": "message", "role": role, "content": text}
	}
	include := func() []string {
		var b struct {
			Include []string `json:"include"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &b))
		return b.Include
	}

	first, err := e.native(t, `{"model":"gpt-native","input":"think","reasoning":{"effort":"low"},"store":true}`)
	require.NoError(t, err)
	require.Equal(t, []string{"reasoning.encrypted_content"}, include(), "asked for, so the item can go back")
	require.Equal(t, []map[string]any{msg("user", "think")}, lastUpstream(t, fake).Input)

	second, err := e.native(t, `{"model":"gpt-native","previous_response_id":"`+first.ID+`","input":"again","reasoning":{"effort":"low"},"store":true}`)
	require.NoError(t, err)
	require.Equal(t, []map[string]any{msg("user", "think"), reasoning("thought about it", "enc-fake-1"), msg("assistant", "think"), msg("user", "again")},
		lastUpstream(t, fake).Input)
	require.Contains(t, string(second.Raw[0]), "thought about it again (1 earlier)", "the upstream saw the earlier reasoning")

	// streamed, two links back: both items, each in its place
	evs, err := e.nativeStream(t, `{"model":"gpt-native","previous_response_id":"`+second.ID+`","input":"third","reasoning":{"effort":"low"},"stream":true}`)
	require.NoError(t, err)
	require.Equal(t, "response.completed", evs[len(evs)-1].Type)
	require.Equal(t, []map[string]any{msg("user", "think"), reasoning("thought about it", "enc-fake-1"), msg("assistant", "think"), msg("user", "again"),
		reasoning("thought about it again (1 earlier)", "enc-fake-2"), msg("assistant", "again"), msg("user", "third")}, lastUpstream(t, fake).Input)
	require.Nil(t, include(), "not stored: nothing added to include")

	// The input items list the messages only, as before.
	items, err := e.client.ListResponseInputItems(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ListResponseInputItemsRequest{Id: second.ID, Order: "asc"})
	require.NoError(t, err)
	var list struct {
		Data []struct {
			Type string `json:"type"`
			Role string `json:"role"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(items.GetBody(), &list))
	require.Len(t, list.Data, 3, "think, its answer, again: the second response's own output is not an input")

	// The chat path continues the conversation without them.
	_, err = e.native(t, `{"model":"gpt-chat","previous_response_id":"`+second.ID+`","input":"via chat"}`)
	require.NoError(t, err)
	require.Len(t, lastUpstream(t, fake).Messages, 5)

	// Without reasoning asked for, include is the client's own.
	_, err = e.native(t, `{"model":"gpt-native","input":"plain","store":true}`)
	require.NoError(t, err)
	require.Nil(t, include())
}
