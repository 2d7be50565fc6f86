package openai

import (
	"encoding/json"

	"github.com/rampart-platform/rampart/pkg/jsonread"
)

// decodeChunk decodes one stream event's data into out exactly as
// json.Unmarshal does. The chunks upstreams stream — exact member names,
// each once, string or null content and finish reason, no error member —
// are read by jsonread (the members Rampart does not use are checked and
// skipped); anything else is decoded again by json.Unmarshal from scratch,
// so results and errors are encoding/json's (FuzzDecodeChunk). json.Unmarshal
// of every chunk was ~11 % of inference's CPU per streamed completion
// (issue 15, ADR 0067), as decodeAnswer's was for a whole answer (ADR 0053).
//
// out.Choices' backing array, when it has one, is reused as json.Unmarshal
// reuses it (length reset to zero, elements appended): a stream decodes
// every chunk into one (ADR 0099). out does not escape, so the caller's
// chunk can stay on its stack; the slow path unmarshals into a value of
// its own and copies it (as decodeAnswer does).
func decodeChunk(b []byte, out *upstreamChunk) error {
	if fastChunk(b, out) {
		return nil
	}
	var v upstreamChunk
	err := json.Unmarshal(b, &v)
	*out = v
	return err
}

// fastChunk reads the common shape; false leaves out to json.Unmarshal.
func fastChunk(b []byte, out *upstreamChunk) bool {
	r := jsonread.NewReader(b)
	if !r.Object() {
		return false
	}
	seenChoices, seenUsage := false, false
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return false
		}
		switch {
		case string(name) == "choices" && !seenChoices:
			seenChoices = true
			if out.Choices, ok = readArrayInto(&r, out.Choices[:0], func(r jsonread.Reader, c *upstreamChunkChoice) (jsonread.Reader, bool) {
				ok := chunkChoice(&r, c)
				return r, ok
			}); !ok {
				return false
			}
		case string(name) == "usage" && !seenUsage:
			seenUsage = true
			if out.Usage, ok = readUsage(&r); !ok {
				return false
			}
		case !unread(name) && (jsonread.FoldEqual(name, "choices") || jsonread.FoldEqual(name, "usage") || jsonread.FoldEqual(name, "error")):
			// A duplicate, a spelling encoding/json may match, or an
			// error event (rare; its raw bytes are kept as encoding/json
			// keeps them).
			return false
		default:
			if !r.Skip() {
				return false
			}
		}
	}
	return r.End()
}

func chunkChoice(r *jsonread.Reader, c *upstreamChunkChoice) bool {
	if !r.Object() {
		return false
	}
	seenDelta, seenFinish, seenIndex, seenLogprobs := false, false, false, false
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return false
		}
		switch {
		case string(name) == "index" && !seenIndex:
			seenIndex = true
			if c.Index, ok = readIndex(r); !ok {
				return false
			}
		case string(name) == "logprobs" && !seenLogprobs:
			seenLogprobs = true
			if c.Logprobs, ok = readLogprobs(r); !ok {
				return false
			}
		case string(name) == "delta" && !seenDelta:
			seenDelta = true
			if !chunkDelta(r, &c.Delta) {
				return false
			}
		case string(name) == "finish_reason" && !seenFinish:
			seenFinish = true
			if c.FinishReason, ok = nullableString(r); !ok {
				return false
			}
		case !unread(name) && (jsonread.FoldEqual(name, "delta") || jsonread.FoldEqual(name, "finish_reason") ||
			jsonread.FoldEqual(name, "index") || jsonread.FoldEqual(name, "logprobs")):
			return false
		default:
			if !r.Skip() {
				return false
			}
		}
	}
	return !r.Failed()
}

func chunkDelta(r *jsonread.Reader, d *upstreamDelta) bool {
	if !r.Object() {
		return false
	}
	seenContent, seenCalls := false, false
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return false
		}
		switch {
		case string(name) == "content" && !seenContent:
			seenContent = true
			if d.Content, ok = nullableString(r); !ok {
				return false
			}
		case string(name) == "tool_calls" && !seenCalls:
			seenCalls = true
			// Tool-call fragments: encoding/json on their bytes alone
			// (the same rules as for the whole chunk, for this subtree).
			raw, ok := r.Raw()
			if !ok || json.Unmarshal(raw, &d.ToolCalls) != nil {
				return false
			}
		case !unread(name) && (jsonread.FoldEqual(name, "content") || jsonread.FoldEqual(name, "tool_calls")):
			return false
		default:
			if !r.Skip() {
				return false
			}
		}
	}
	return !r.Failed()
}

// nullableString reads a string or null as json.Unmarshal reads it into a
// *string.
func nullableString(r *jsonread.Reader) (*string, bool) {
	if r.Null() {
		return nil, true
	}
	s, ok := r.String()
	if !ok {
		return nil, false
	}
	return &s, true
}

// unread reports whether name is one of the members upstreams send in
// answers and chunks that Rampart does not read. None of them is FoldEqual
// to a member Rampart reads (TestUnreadNamesFoldToNoField), so a decoder
// that meets one skips it without the FoldEqual checks for a spelling
// encoding/json would match: two or three per member, ~20 per chunk, ~5k
// instructions per streamed completion (issue 15, ADR 0099).
func unread(name []byte) bool {
	switch string(name) {
	case "id", "object", "created", "model", "system_fingerprint", "service_tier",
		"role", "refusal", "annotations":
		return true
	}
	return false
}
