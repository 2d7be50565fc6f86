package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

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

// holdingConn's one stream answers one chunk, then holds until its
// context ends (the client is gone, the edge must end the call).
type holdingConn struct{ ctx chan context.Context }

func (c *holdingConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return io.ErrUnexpectedEOF
}

func (c *holdingConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	c.ctx <- ctx
	return &holdingStream{ctx: ctx}, nil
}

type holdingStream struct {
	ctx  context.Context
	sent bool
}

func (s *holdingStream) Header() (metadata.MD, error) { return nil, nil }
func (s *holdingStream) Trailer() metadata.MD         { return nil }
func (s *holdingStream) CloseSend() error             { return nil }
func (s *holdingStream) Context() context.Context     { return s.ctx }
func (s *holdingStream) SendMsg(any) error            { return nil }

func (s *holdingStream) RecvMsg(m any) error {
	if !s.sent {
		s.sent = true
		pm, ok := m.(proto.Message)
		if !ok {
			return io.ErrUnexpectedEOF
		}
		proto.Merge(pm, &inferencev1.StreamChatCompletionResponse{Chunk: []byte(`{"a":1}`)})
		return nil
	}
	<-s.ctx.Done()
	return s.ctx.Err()
}

// goneWriter is a client that went away: every write fails.
type goneWriter struct{ h http.Header }

func (w *goneWriter) Header() http.Header       { return w.h }
func (w *goneWriter) WriteHeader(int)           {}
func (w *goneWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// TestStreamEndsItsCallWhenTheClientIsGone: a client gone mid-stream ends
// inference's stream whether or not net/http serves the request. Served
// by net/http, the request's context (which net/http cancels when
// ServeHTTP returns) is the call's, without a cancel context of the
// stream's own before the first byte (issue 15, ADR 0116); called
// directly, with a request context nobody cancels, stream makes its own
// and has ended it by the time it returns, so neither the gRPC stream nor
// the receiver is left waiting.
func TestStreamEndsItsCallWhenTheClientIsGone(t *testing.T) {
	t.Run("handler called directly", func(t *testing.T) {
		conn := &holdingConn{ctx: make(chan context.Context, 1)}
		h := New(Options{Inference: conn})
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil) // context.Background: never ends
		h.stream(&goneWriter{h: http.Header{}}, req, req.Context(), []byte(`{}`), inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED)
		callCtx := <-conn.ctx
		require.Error(t, callCtx.Err(), "the stream's call outlived the handler")
		require.NoError(t, req.Context().Err())
	})
	t.Run("served by net/http", func(t *testing.T) {
		conn := &holdingConn{ctx: make(chan context.Context, 1)}
		h := New(Options{Inference: conn})
		reqCtx := make(chan context.Context, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqCtx <- r.Context()
			h.stream(&goneWriter{h: w.Header()}, r, r.Context(), []byte(`{}`), inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED)
		}))
		defer srv.Close()
		resp, err := http.Post(srv.URL, "application/json", nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		callCtx, rc := <-conn.ctx, <-reqCtx
		require.True(t, rc == callCtx, "the call runs on the request's context")
		<-callCtx.Done() // net/http ended it when the handler returned; a hang here is the failure
	})
}

// oneChunkConn's streams answer one chunk, then io.EOF, the way grpc-go's
// client stream does before its first message: a cancel context of its own
// derived from the call's (newClientStream), its Done watched (the
// per-stream watcher goroutine), cancelled when the stream ends.
type oneChunkConn struct{ scriptedConn }

func (c *oneChunkConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	_ = ctx.Done()
	return &oneChunkStream{ctx: ctx, cancel: cancel}, nil
}

type oneChunkStream struct {
	holdingStream
	ctx    context.Context
	cancel context.CancelFunc
	n      int
}

func (s *oneChunkStream) RecvMsg(m any) error {
	if s.n++; s.n == 1 {
		pm, ok := m.(proto.Message)
		if !ok {
			return io.ErrUnexpectedEOF
		}
		proto.Merge(pm, &inferencev1.StreamChatCompletionResponse{Chunk: []byte(`{"a":1}`)})
		return nil
	}
	s.cancel()
	return io.EOF
}

type discardFlusher struct{ h http.Header }

func (w *discardFlusher) Header() http.Header         { return w.h }
func (w *discardFlusher) WriteHeader(int)             {}
func (w *discardFlusher) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardFlusher) Flush()                      {}

type ctxKey int

// BenchmarkStreamContexts is Handler.stream of a one-chunk stream on a
// context shaped as the edge's server makes it (net/http's base, server
// and connection contexts, a cancel context per request that is cancelled
// after the handler, a few values, the outgoing metadata), for counting
// instructions of the stream's contexts (issue 15, ADR 0116):
// `valgrind --tool=callgrind` at two -benchtime=Nx, (I(2N) − I(N)) ÷ N.
func BenchmarkStreamContexts(b *testing.B) {
	h := New(Options{Inference: &oneChunkConn{}})
	base := context.WithValue(context.WithValue(context.WithoutCancel(context.Background()), http.ServerContextKey, &http.Server{ReadHeaderTimeout: time.Second}),
		http.LocalAddrContextKey, nil)
	conn, cancelConn := context.WithCancel(base)
	defer cancelConn()
	w := &discardFlusher{h: http.Header{}}
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	body := []byte(`{}`)
	b.ReportAllocs()
	for b.Loop() {
		rctx, cancel := context.WithCancel(conn)
		rctx = context.WithValue(context.WithValue(rctx, ctxKey(1), 1), ctxKey(2), 2)
		r := req.WithContext(rctx)
		ctx := metadata.AppendToOutgoingContext(rctx, "k", "v")
		h.stream(w, r, ctx, body, inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED)
		cancel()
		clear(w.h)
	}
}
