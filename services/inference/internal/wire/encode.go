package wire

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/rampart-platform/rampart/pkg/jsonwrite"
)

// EncodeCompletion returns the bytes json.Marshal writes for c, written
// without reflection when c has no rampart extension and every choice's
// logprobs is null (the others take json.Marshal). Encoding the reply
// with json.Marshal was ~1.5 % of inference's CPU per chat completion
// (issue 15, ADR 0053); TestEncodeCompletionMatchesMarshal.
func EncodeCompletion(c *ChatCompletion) ([]byte, error) {
	if b, ok := appendCompletion(make([]byte, 0, 384), c); ok {
		return b, nil
	}
	return json.Marshal(c)
}

// AppendCompletion is EncodeCompletion's fast path alone: c appended to b
// as json.Marshal writes it, or false (b unchanged in content) when c needs
// json.Marshal. c does not escape, so a caller's completion and what it
// points to can stay on its stack (issue 15, ADR 0089).
func AppendCompletion(b []byte, c *ChatCompletion) ([]byte, bool) {
	return appendCompletion(b, c)
}

func appendCompletion(b []byte, c *ChatCompletion) ([]byte, bool) {
	if c.Rampart != nil {
		return b, false
	}
	for i := range c.Choices {
		if !bytes.Equal(c.Choices[i].Logprobs, NullRaw) {
			return b, false
		}
	}
	b = appendHead(b, c.ID, c.Object, c.Created, c.Model)
	b = append(b, `,"choices":`...)
	b = jsonwrite.AppendArray(b, c.Choices, appendChoice)
	if u := c.Usage; u != nil {
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		if d := u.PromptTokensDetails; d != nil {
			b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
			b = strconv.AppendInt(b, int64(d.CachedTokens), 10)
			b = append(b, `,"audio_tokens":`...)
			b = strconv.AppendInt(b, int64(d.AudioTokens), 10)
			b = append(b, '}')
		}
		if d := u.CompletionTokensDetails; d != nil {
			b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
			b = strconv.AppendInt(b, int64(d.ReasoningTokens), 10)
			b = append(b, `,"audio_tokens":`...)
			b = strconv.AppendInt(b, int64(d.AudioTokens), 10)
			b = append(b, `,"accepted_prediction_tokens":`...)
			b = strconv.AppendInt(b, int64(d.AcceptedPredictionTokens), 10)
			b = append(b, `,"rejected_prediction_tokens":`...)
			b = strconv.AppendInt(b, int64(d.RejectedPredictionTokens), 10)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `,"system_fingerprint":`...)
	b = appendNullable(b, c.SystemFingerprint)
	return append(b, '}'), true
}

// appendHead opens the object a completion and a chunk both start with:
// their id, object, created and model members, in that order.
func appendHead(b []byte, id, object string, created int64, model string) []byte {
	b = append(b, `{"id":`...)
	b = jsonwrite.AppendString(b, id)
	b = append(b, `,"object":`...)
	b = jsonwrite.AppendString(b, object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	return jsonwrite.AppendString(b, model)
}

func appendChoice(b []byte, ch *Choice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(ch.Index), 10)
	b = append(b, `,"message":{"role":`...)
	b = jsonwrite.AppendString(b, ch.Message.Role)
	b = append(b, `,"content":`...)
	b = appendNullable(b, ch.Message.Content)
	b = append(b, `,"refusal":`...)
	b = appendNullable(b, ch.Message.Refusal)
	if len(ch.Message.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":`...)
		b = AppendToolCalls(b, ch.Message.ToolCalls)
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = jsonwrite.AppendString(b, ch.FinishReason)
	return append(b, '}')
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonwrite.AppendString(b, *s)
}

// AppendToolCalls appends calls as json.Marshal writes them.
func AppendToolCalls(b []byte, calls []ToolCall) []byte {
	return jsonwrite.AppendArray(b, calls, appendToolCall)
}

func appendToolCall(b []byte, c *ToolCall) []byte {
	b = append(b, `{"id":`...)
	b = jsonwrite.AppendString(b, c.ID)
	b = append(b, `,"type":`...)
	b = jsonwrite.AppendString(b, c.Type)
	b = append(b, `,"function":{"name":`...)
	b = jsonwrite.AppendString(b, c.Function.Name)
	b = append(b, `,"arguments":`...)
	b = jsonwrite.AppendString(b, c.Function.Arguments)
	return append(b, "}}"...)
}

// EncodeChunk returns the bytes json.Marshal writes for c, written without
// reflection for the chunks a stream is made of (content, role, finish:
// no rampart extension, no tool calls, null logprobs, usage absent or
// null); the others take json.Marshal. json.Marshal of every chunk was
// ~4 % of inference's CPU per streamed completion (issue 15, ADR 0067);
// TestEncodeChunkMatchesMarshal.
func EncodeChunk(c *Chunk) ([]byte, error) {
	if !fastChunk(c) {
		return json.Marshal(c)
	}
	b := appendHead(make([]byte, 0, 256), c.ID, c.Object, c.Created, c.Model)
	return appendChunkTail(b, c), nil
}

// ChunkEncoder is EncodeChunk for the chunks of one stream, whose id,
// object, created and model repeat: the JSON they open with is written
// once and copied into each chunk instead of quoted again (~500
// instructions a chunk, issue 15, ADR 0099). A chunk whose head differs
// from the last one's (a fallback model's name) gets its own. The zero
// value is ready to use; the bytes are EncodeChunk's
// (TestChunkEncoderIsEncodeChunk).
type ChunkEncoder struct {
	id, object, model string
	created           int64
	head              []byte
}

// Encode returns the bytes json.Marshal writes for c.
func (e *ChunkEncoder) Encode(c *Chunk) ([]byte, error) {
	if !fastChunk(c) {
		return json.Marshal(c)
	}
	if e.head == nil || c.ID != e.id || c.Object != e.object || c.Created != e.created || c.Model != e.model {
		e.id, e.object, e.created, e.model = c.ID, c.Object, c.Created, c.Model
		if e.head == nil {
			e.head = make([]byte, 0, 128)
		}
		e.head = appendHead(e.head[:0], c.ID, c.Object, c.Created, c.Model)
	}
	b := append(make([]byte, 0, len(e.head)+192), e.head...)
	return appendChunkTail(b, c), nil
}

// fastChunk reports whether appendChunkTail writes c as json.Marshal
// does: no rampart extension, usage absent or null, no tool calls, null
// logprobs.
func fastChunk(c *Chunk) bool {
	if c.Rampart != nil || len(c.Usage) > 0 && !bytes.Equal(c.Usage, NullRaw) {
		return false
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if len(ch.Delta.ToolCalls) > 0 || len(ch.Logprobs) > 0 && !bytes.Equal(ch.Logprobs, NullRaw) {
			return false
		}
	}
	return true
}

// appendChunkTail writes what follows the head of a chunk that fastChunk
// accepted.
func appendChunkTail(b []byte, c *Chunk) []byte {
	b = append(b, `,"system_fingerprint":`...)
	b = appendNullable(b, c.SystemFingerprint)
	b = append(b, `,"choices":`...)
	b = jsonwrite.AppendArray(b, c.Choices, appendChunkChoice)
	if len(c.Usage) > 0 {
		b = append(b, `,"usage":null`...)
	}
	return append(b, '}')
}

func appendChunkChoice(b []byte, ch *ChunkChoice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(ch.Index), 10)
	b = append(b, `,"delta":{`...)
	sep := false
	if ch.Delta.Role != "" {
		b = append(b, `"role":`...)
		b = jsonwrite.AppendString(b, ch.Delta.Role)
		sep = true
	}
	if ch.Delta.Content != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"content":`...)
		b = jsonwrite.AppendString(b, *ch.Delta.Content)
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = appendNullable(b, ch.FinishReason)
	return append(b, '}')
}
