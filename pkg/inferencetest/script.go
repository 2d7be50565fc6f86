package inferencetest

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/grpctest"
)

// Call is one call as served.
type Call struct {
	// Call is the method ("ChatCompletion", "GetModel", ...), its caller,
	// verified principal, request id and request.
	grpctest.Call
	// Body is the OpenAI JSON body of a chat or embeddings call.
	Body []byte
	// Format is the request format of a chat call.
	Format inferencev1.RequestFormat
	// ID is the response id of a stored-response call.
	ID string
	// Tenant and Model are the named tenant and the model of an
	// EmbedForTenant call.
	Tenant, Model string
}

// Answer is a script's answer to one call.
type Answer struct {
	// Body is the JSON of a unary answer.
	Body []byte
	// Headers go with a chat answer (on a stream: with its first chunk).
	Headers map[string]string
	// Chunks are a stream's messages, sent in order.
	Chunks []*inferencev1.StreamChatCompletionResponse
	// Err fails the call (a stream: after its chunks); see APIError.
	Err error
	// Hold keeps a stream open after its chunks until the client goes
	// away (Server.Canceled counts those, Server.Holding signals them).
	Hold bool
}

// Script answers a call (ChatCompletion, StreamChatCompletion,
// Embeddings and the stored-response methods).
type Script func(c *Call) Answer

// APIError is an error in the shape inference sends (ADR 0007): the gRPC
// code and message, and an ErrorInfo of grpcerr.OpenAIErrorDomain whose
// reason is the OpenAI error code, with metadata "type", "param" and
// Metadata, plus a RetryInfo when RetryAfter is set.
type APIError struct {
	Code       codes.Code
	Message    string
	OpenAICode string
	Type       string
	Param      string
	RetryAfter time.Duration
	// Metadata is more of the ErrorInfo's metadata (a TPM refusal's
	// x-ratelimit-*-tokens headers).
	Metadata map[string]string
}

// Err returns the status error.
func (e APIError) Err() error {
	md := map[string]string{"type": e.Type}
	if e.Param != "" {
		md["param"] = e.Param
	}
	maps.Copy(md, e.Metadata)
	st, err := status.New(e.Code, e.Message).WithDetails(&errdetails.ErrorInfo{
		Reason: e.OpenAICode, Domain: grpcerr.OpenAIErrorDomain, Metadata: md})
	if err != nil {
		panic(err) // cannot happen: ErrorInfo always marshals
	}
	if e.RetryAfter > 0 {
		st, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
		if err != nil {
			panic(err)
		}
	}
	return st.Err()
}

// Chunk is one stream message carrying the JSON of one server-sent event.
func Chunk(json string) *inferencev1.StreamChatCompletionResponse {
	return &inferencev1.StreamChatCompletionResponse{Chunk: []byte(json)}
}

// Event is one stream message of a named event (the Responses API's).
func Event(name, json string) *inferencev1.StreamChatCompletionResponse {
	return &inferencev1.StreamChatCompletionResponse{Chunk: []byte(json), Event: name}
}

// chatBody is the part of an OpenAI chat body Echo reads.
type chatBody struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// LastUserText returns the text of the last user message of an OpenAI
// chat body (string content or its text parts), "" if there is none.
func LastUserText(body []byte) string {
	var b chatBody
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	return b.lastUser()
}

func (b *chatBody) lastUser() string {
	for i := len(b.Messages) - 1; i >= 0; i-- {
		if b.Messages[i].Role != "user" {
			continue
		}
		var s string
		if json.Unmarshal(b.Messages[i].Content, &s) == nil {
			return s
		}
		var parts []struct {
			Type, Text string
		}
		_ = json.Unmarshal(b.Messages[i].Content, &parts)
		var sb strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				sb.WriteString(p.Text)
			}
		}
		return sb.String()
	}
	return ""
}

var ids atomic.Int64

// Echo is the default script: Rampart's "echo" model on chat completions
// (REQUEST_FORMAT_UNSPECIFIED). ChatCompletion answers one chat.completion
// whose content is the last user message; StreamChatCompletion answers a
// role chunk, the message word by word, a finish chunk and (with
// stream_options.include_usage) a usage chunk. Token counts are words.
// Anything else is Unimplemented: script it.
func Echo(c *Call) Answer {
	if c.Method != "ChatCompletion" && c.Method != "StreamChatCompletion" || c.Format != inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED {
		return Answer{Err: status.Errorf(codes.Unimplemented, "inferencetest: Echo answers chat completions only; script %s (format %s)", c.Method, c.Format)}
	}
	var b chatBody
	if err := json.Unmarshal(c.Body, &b); err != nil {
		return Answer{Err: APIError{Code: codes.InvalidArgument, Message: "We could not parse the JSON body of your request.",
			OpenAICode: "invalid_json", Type: "invalid_request_error"}.Err()}
	}
	text := b.lastUser()
	id := "chatcmpl-echo" + strconv.FormatInt(ids.Add(1), 10)
	model, _ := json.Marshal(b.Model)
	head := `{"id":"` + id + `","object":"chat.completion","created":` + strconv.FormatInt(time.Now().Unix(), 10) + `,"model":` + string(model)
	completion := len(strings.Fields(text))
	prompt := 0
	for _, m := range b.Messages {
		prompt += len(strings.Fields(string(m.Content)))
	}
	usage := `"usage":{"prompt_tokens":` + strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(completion) +
		`,"total_tokens":` + strconv.Itoa(prompt+completion) + `}`
	if c.Method == "ChatCompletion" {
		return Answer{Body: []byte(head + `,"choices":[{"index":0,"message":{"role":"assistant","content":` + quote(text) +
			`},"finish_reason":"stop"}],` + usage + `}`)}
	}
	head = strings.Replace(head, `"chat.completion"`, `"chat.completion.chunk"`, 1)
	chunk := func(delta, finish string) *inferencev1.StreamChatCompletionResponse {
		return Chunk(head + `,"choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}`)
	}
	out := []*inferencev1.StreamChatCompletionResponse{chunk(`{"role":"assistant","content":""}`, "null")}
	for _, w := range strings.SplitAfter(text, " ") {
		if w != "" {
			out = append(out, chunk(`{"content":`+quote(w)+`}`, "null"))
		}
	}
	out = append(out, chunk(`{}`, `"stop"`))
	if b.StreamOptions.IncludeUsage {
		out = append(out, Chunk(head+`,"choices":[],`+usage+`}`))
	}
	return Answer{Chunks: out}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
