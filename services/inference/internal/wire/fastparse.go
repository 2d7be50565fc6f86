package wire

import (
	"github.com/rampart-platform/rampart/pkg/jsonread"
)

// fastChat reads the common chat request — model, messages of role,
// string or null content, name and tool_call_id, and the scalar sampling
// parameters, each member named exactly and once, no nulls — into r
// without reflection. Anything else reports false, and decodeStrict reads
// the body from scratch, so every result and every error (unknown fields,
// types, content parts, tools...) is encoding/json's
// (FuzzParseChatFast). Decoding with encoding/json was ~5 % of
// inference's CPU per chat completion (issue 15, ADR 0053).
func fastChat(body []byte, r *ChatRequest) bool {
	rd := jsonread.NewReader(body)
	if !rd.Object() {
		return false
	}
	var seen uint32
	for first := true; rd.More(first); first = false {
		name, ok := rd.Name()
		if !ok {
			return false
		}
		bit, ok := chatMembers[string(name)]
		if !ok || seen&bit != 0 || !chatMember(&rd, r, bit) {
			return false
		}
		seen |= bit
	}
	return rd.End()
}

// The members fastChat reads, one bit each.
const (
	mModel uint32 = 1 << iota
	mMessages
	mTemperature
	mTopP
	mMaxTokens
	mMaxCompletionTokens
	mN
	mStream
	mUser
	mSeed
	mFrequencyPenalty
	mPresencePenalty
	mParallelToolCalls
	mStore
	mLogprobs
)

var chatMembers = map[string]uint32{
	"model": mModel, "messages": mMessages, "temperature": mTemperature, "top_p": mTopP,
	"max_tokens": mMaxTokens, "max_completion_tokens": mMaxCompletionTokens, "n": mN, "stream": mStream,
	"user": mUser, "seed": mSeed, "frequency_penalty": mFrequencyPenalty, "presence_penalty": mPresencePenalty,
	"parallel_tool_calls": mParallelToolCalls, "store": mStore, "logprobs": mLogprobs,
}

func chatMember(rd *jsonread.Reader, r *ChatRequest, bit uint32) bool {
	var ok bool
	switch bit {
	case mModel:
		r.Model, ok = rd.String()
	case mMessages:
		r.Messages, ok = messages(rd)
	case mTemperature:
		r.Temperature, ok = ptr(rd.Float())
	case mTopP:
		r.TopP, ok = ptr(rd.Float())
	case mMaxTokens:
		r.MaxTokens, ok = intPtr(rd)
	case mMaxCompletionTokens:
		r.MaxCompletionTokens, ok = intPtr(rd)
	case mN:
		r.N, ok = intPtr(rd)
	case mStream:
		r.Stream, ok = rd.Bool()
	case mUser:
		r.User, ok = rd.String()
	case mSeed:
		r.Seed, ok = ptr(rd.Int())
	case mFrequencyPenalty:
		r.FrequencyPenalty, ok = ptr(rd.Float())
	case mPresencePenalty:
		r.PresencePenalty, ok = ptr(rd.Float())
	case mParallelToolCalls:
		r.ParallelToolCalls, ok = ptr(rd.Bool())
	case mStore:
		r.Store, ok = ptr(rd.Bool())
	case mLogprobs:
		r.Logprobs, ok = ptr(rd.Bool())
	}
	return ok
}

// ptr is an optional member's value: a pointer to v when it was read.
func ptr[T any](v T, ok bool) (*T, bool) {
	if !ok {
		return nil, false
	}
	return &v, true
}

func intPtr(rd *jsonread.Reader) (*int, bool) {
	n, ok := rd.Int()
	return ptr(int(n), ok)
}

// messages reads the messages array; a message with tool calls, content
// parts or any other member is left to encoding/json.
func messages(rd *jsonread.Reader) ([]Message, bool) {
	if !rd.Array() {
		return nil, false
	}
	ms := make([]Message, 0, 4)
	for first := true; rd.MoreElements(first); first = false {
		ms = append(ms, Message{})
		if !message(rd, &ms[len(ms)-1]) {
			return nil, false
		}
	}
	return ms, !rd.Failed()
}

func message(rd *jsonread.Reader, m *Message) bool {
	if !rd.Object() {
		return false
	}
	var seen [4]bool
	for first := true; rd.More(first); first = false {
		name, ok := rd.Name()
		if !ok {
			return false
		}
		switch {
		case string(name) == "role" && !seen[0]:
			seen[0] = true
			m.Role, ok = rd.String()
		case string(name) == "content" && !seen[1]:
			seen[1] = true
			if rd.Null() {
				m.Content = Content{Null: true, Set: true}
				continue
			}
			var s string
			s, ok = rd.String()
			m.Content = Content{Text: s, Set: true}
		case string(name) == "name" && !seen[2]:
			seen[2] = true
			m.Name, ok = rd.String()
		case string(name) == "tool_call_id" && !seen[3]:
			seen[3] = true
			m.ToolCallID, ok = rd.String()
		default:
			return false
		}
		if !ok {
			return false
		}
	}
	return !rd.Failed()
}
