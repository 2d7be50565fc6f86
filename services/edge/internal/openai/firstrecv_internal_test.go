package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// scriptedConn is an inference connection whose one stream answers chunks,
// then io.EOF, and records for each RecvMsg whether it ran on the goroutine
// of Handler.stream.
type scriptedConn struct {
	chunks   []string
	onCaller []bool
}

func (c *scriptedConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return io.ErrUnexpectedEOF
}

func (c *scriptedConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return &scriptedStream{ctx: ctx, c: c}, nil
}

type scriptedStream struct {
	ctx context.Context
	c   *scriptedConn
	n   int
}

func (s *scriptedStream) Header() (metadata.MD, error) { return nil, nil }
func (s *scriptedStream) Trailer() metadata.MD         { return nil }
func (s *scriptedStream) CloseSend() error             { return nil }
func (s *scriptedStream) Context() context.Context     { return s.ctx }
func (s *scriptedStream) SendMsg(any) error            { return nil }

func (s *scriptedStream) RecvMsg(m any) error {
	buf := make([]byte, 8<<10)
	stack := buf[:runtime.Stack(buf, false)]
	s.c.onCaller = append(s.c.onCaller, bytes.Contains(stack, []byte("openai.(*Handler).stream(")))
	if s.n == len(s.c.chunks) {
		return io.EOF
	}
	pm, ok := m.(proto.Message)
	if !ok {
		return io.ErrUnexpectedEOF
	}
	proto.Merge(pm, &inferencev1.StreamChatCompletionResponse{Chunk: []byte(s.c.chunks[s.n])})
	s.n++
	return nil
}

// TestStreamReceivesFirstMessageOnHandler: the first message is received
// on the handler's goroutine (no hand-off before the first byte), the
// others by the receiver, and the bytes are the usual SSE frames.
func TestStreamReceivesFirstMessageOnHandler(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string
		onCaller []bool
		body     string
	}{
		{"empty stream", nil, []bool{true}, "data: [DONE]\n\n"},
		{"one chunk", []string{`{"a":1}`}, []bool{true, false}, "data: {\"a\":1}\n\ndata: [DONE]\n\n"},
		{"three chunks", []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}, []bool{true, false, false, false},
			"data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: {\"a\":3}\n\ndata: [DONE]\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &scriptedConn{chunks: tt.chunks}
			h := New(Options{Inference: conn})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			h.stream(rec, req, req.Context(), []byte(`{}`), inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED) // chat
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, tt.body, rec.Body.String())
			require.Equal(t, tt.onCaller, conn.onCaller)
		})
	}
}
