package openai

import (
	"encoding/json"
	"slices"

	"github.com/rampart-platform/rampart/pkg/jsonread"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// upstreamCompletion is what Rampart reads of a chat answer.
type upstreamCompletion struct {
	Choices []upstreamChoice `json:"choices"`
	Usage   *wire.Usage      `json:"usage"`
}

type upstreamChoice struct {
	Index        int             `json:"index"`
	Message      upstreamMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	// Logprobs is the choice's logprobs object ("null" when the upstream
	// sent null, as encoding/json keeps it; ADR 0120 §2).
	Logprobs json.RawMessage `json:"logprobs"`
}

// nullRaw is the logprobs the fast decoders keep for null: the bytes
// encoding/json keeps, shared instead of allocated per choice.
var nullRaw = json.RawMessage("null")

// readLogprobs reads a choice's logprobs as json.Unmarshal reads it into
// a json.RawMessage: null is nullRaw, anything else a copy of its bytes
// (the body's buffer is reused).
func readLogprobs(r *jsonread.Reader) (json.RawMessage, bool) {
	if r.Null() {
		return nullRaw, true
	}
	raw, ok := r.Raw()
	if !ok {
		return nil, false
	}
	return append(json.RawMessage(nil), raw...), true
}

// readIndex reads a choice's index.
func readIndex(r *jsonread.Reader) (int, bool) {
	n, ok := r.Int()
	return int(n), ok
}

type upstreamMessage struct {
	Content   *string         `json:"content"`
	ToolCalls []wire.ToolCall `json:"tool_calls"`
}

// decodeAnswer decodes a chat answer into out exactly as json.Unmarshal
// does. The answers upstreams send — exact member names, each once, string
// or null content — are read by jsonread, which skips the members Rampart
// does not use without matching them against fields; anything else is
// decoded again by json.Unmarshal from scratch, so results and errors are
// encoding/json's (FuzzDecodeAnswer). json.Unmarshal alone was ~6 % of
// inference's CPU per chat completion (issue 15, ADR 0053).
func decodeAnswer(b []byte, out *upstreamCompletion) error {
	if fastAnswer(b, out) {
		return nil
	}
	// Unmarshalled into a value of its own and copied: out does not escape,
	// so Chat's answer stays on its stack (issue 15, ADR 0089). Partial
	// results on an error are copied as json.Unmarshal left them.
	var v upstreamCompletion
	err := json.Unmarshal(b, &v)
	*out = v
	return err
}

// fastAnswer reads the common shape; false leaves out to json.Unmarshal.
func fastAnswer(b []byte, out *upstreamCompletion) bool {
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
			if out.Choices, ok = readArray(&r, func(r jsonread.Reader, c *upstreamChoice) (jsonread.Reader, bool) {
				ok := answerChoice(&r, c)
				return r, ok
			}); !ok {
				return false
			}
		case string(name) == "usage" && !seenUsage:
			seenUsage = true
			if out.Usage, ok = readUsage(&r); !ok {
				return false
			}
		case !unread(name) && (jsonread.FoldEqual(name, "choices") || jsonread.FoldEqual(name, "usage")):
			return false // a duplicate, or a spelling encoding/json may match
		default:
			if !r.Skip() {
				return false
			}
		}
	}
	return r.End()
}

// readUsage reads a usage object or null as json.Unmarshal reads it into
// a *wire.Usage; false for anything else.
func readUsage(r *jsonread.Reader) (*wire.Usage, bool) {
	if r.Null() {
		return nil, true
	}
	if !r.Object() {
		return nil, false
	}
	u := &wire.Usage{}
	var seen [5]bool
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return nil, false
		}
		var dst *int
		switch {
		case string(name) == "prompt_tokens" && !seen[0]:
			dst, seen[0] = &u.PromptTokens, true
		case string(name) == "completion_tokens" && !seen[1]:
			dst, seen[1] = &u.CompletionTokens, true
		case string(name) == "total_tokens" && !seen[2]:
			dst, seen[2] = &u.TotalTokens, true
		case string(name) == "prompt_tokens_details" && !seen[3]:
			// After the three counts, so usage without details pays
			// nothing more (ADR 0117).
			seen[3] = true
			if u.PromptTokensDetails, ok = readPromptDetails(r); !ok {
				return nil, false
			}
			continue
		case string(name) == "completion_tokens_details" && !seen[4]:
			seen[4] = true
			if u.CompletionTokensDetails, ok = readCompletionDetails(r); !ok {
				return nil, false
			}
			continue
		case string(name) == "prompt_tokens_details" || string(name) == "completion_tokens_details":
			return nil, false // a duplicate: json.Unmarshal merges it into the first
		case !unread(name) && (jsonread.FoldEqual(name, "prompt_tokens") || jsonread.FoldEqual(name, "completion_tokens") || jsonread.FoldEqual(name, "total_tokens") ||
			jsonread.FoldEqual(name, "prompt_tokens_details") || jsonread.FoldEqual(name, "completion_tokens_details")):
			return nil, false
		default:
			if !r.Skip() {
				return nil, false
			}
			continue
		}
		n, ok := r.Int()
		if !ok {
			return nil, false
		}
		*dst = int(n)
	}
	return u, !r.Failed()
}

// readPromptDetails reads usage.prompt_tokens_details (an object or
// null) as json.Unmarshal reads it into a *wire.PromptTokensDetails;
// false for anything else, so the strict decoder decides.
func readPromptDetails(r *jsonread.Reader) (*wire.PromptTokensDetails, bool) {
	if r.Null() {
		return nil, true
	}
	d := &wire.PromptTokensDetails{}
	return d, readCounts(r, []string{"cached_tokens", "audio_tokens"}, []*int{&d.CachedTokens, &d.AudioTokens})
}

// readCompletionDetails is readPromptDetails for
// usage.completion_tokens_details.
func readCompletionDetails(r *jsonread.Reader) (*wire.CompletionTokensDetails, bool) {
	if r.Null() {
		return nil, true
	}
	d := &wire.CompletionTokensDetails{}
	return d, readCounts(r,
		[]string{"reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"},
		[]*int{&d.ReasoningTokens, &d.AudioTokens, &d.AcceptedPredictionTokens, &d.RejectedPredictionTokens})
}

// readCounts reads an object of integer members, names[i] into *dst[i],
// skipping other members; false for a duplicate or a name that differs
// from one of names only by case (json.Unmarshal would take it), or
// anything that is not such an object.
func readCounts(r *jsonread.Reader, ns []string, ds []*int) bool {
	if !r.Object() {
		return false
	}
	var seen uint8
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return false
		}
		i := slices.Index(ns, string(name))
		if i < 0 {
			if slices.ContainsFunc(ns, func(n string) bool { return jsonread.FoldEqual(name, n) }) {
				return false
			}
			if !r.Skip() {
				return false
			}
			continue
		}
		if seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		n, ok := r.Int()
		if !ok {
			return false
		}
		*ds[i] = int(n)
	}
	return !r.Failed()
}

// readArray reads an array or null as json.Unmarshal reads it into a []T
// (null is a nil slice, [] an empty one), each element by read; false
// for anything else. read takes and returns the reader by value: a
// *Reader passed to a function value escapes, which would move every
// caller's reader to the heap (one allocation more per decode,
// BenchmarkDecodeAnswer, BenchmarkDecodeChunk).
func readArray[T any](r *jsonread.Reader, read func(jsonread.Reader, *T) (jsonread.Reader, bool)) ([]T, bool) {
	return readArrayInto(r, nil, read)
}

// readArrayInto is readArray appending to out (empty, or nil for a new
// slice), as json.Unmarshal reuses a slice's backing array.
func readArrayInto[T any](r *jsonread.Reader, out []T, read func(jsonread.Reader, *T) (jsonread.Reader, bool)) ([]T, bool) {
	if r.Null() {
		return nil, true
	}
	if !r.Array() {
		return nil, false
	}
	if out == nil {
		out = make([]T, 0, 1)
	}
	for first := true; r.MoreElements(first); first = false {
		out = append(out, *new(T))
		var ok bool
		if *r, ok = read(*r, &out[len(out)-1]); !ok {
			return nil, false
		}
	}
	return out, !r.Failed()
}

func answerChoice(r *jsonread.Reader, c *upstreamChoice) bool {
	if !r.Object() {
		return false
	}
	seenMessage, seenFinish, seenIndex, seenLogprobs := false, false, false, false
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
		case string(name) == "message" && !seenMessage:
			seenMessage = true
			if !answerMessage(r, &c.Message) {
				return false
			}
		case string(name) == "finish_reason" && !seenFinish:
			seenFinish = true
			if c.FinishReason, ok = r.String(); !ok {
				return false
			}
		case !unread(name) && (jsonread.FoldEqual(name, "message") || jsonread.FoldEqual(name, "finish_reason") ||
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

// answerMessage is chunkDelta's walk (chunk.go) over an answer's message:
// kept as two plain functions, not one generic one, as the per-chunk one
// is on the stream's hot path and the field types differ (ToolCall,
// ToolCallDelta).
func answerMessage(r *jsonread.Reader, m *upstreamMessage) bool {
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
			if m.Content, ok = nullableString(r); !ok {
				return false
			}
		case string(name) == "tool_calls" && !seenCalls:
			seenCalls = true
			// Tool calls: encoding/json on their bytes alone (the same
			// rules as for the whole answer, for this subtree).
			raw, ok := r.Raw()
			if !ok || json.Unmarshal(raw, &m.ToolCalls) != nil {
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
