package serve_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/serve"
)

// steps records what the lifecycle did, in order.
type steps struct {
	mu   sync.Mutex
	list []string
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, step)
}

func (s *steps) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

// blockingServer serves until stopped.
func blockingServer(lc *serve.Lifecycle, name string, st *steps) {
	stop := make(chan struct{})
	lc.Serve(name, func() error { <-stop; return nil }, func(context.Context) error {
		st.add("stop " + name)
		close(stop)
		return nil
	})
}

func TestLifecycleShutdownOrder(t *testing.T) {
	var st steps
	lc := serve.NewLifecycle(slog.New(slog.DiscardHandler), 10*time.Millisecond, time.Second)
	lc.OnShutdown(func(context.Context) error { st.add("close store"); return nil })
	lc.OnShutdown(func(context.Context) error { st.add("close cache"); return nil })
	lc.OnDrain(func() { st.add("not ready") })
	blockingServer(lc, "grpc", &st)
	blockingServer(lc, "admin", &st)
	started := make(chan struct{})
	lc.Go("loop", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		st.add("loop ended")
		return ctx.Err() // an error after cancellation is no failure
	})
	lc.Go("short", func(context.Context) error { return nil }) // ends early: fine

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()
	<-started
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"not ready", "stop grpc", "stop admin", "loop ended", "close cache", "close store"}, st.get())
	require.Error(t, lc.Run(t.Context()), "Run twice")
}

func TestLifecycleTaskFailureStopsTheService(t *testing.T) {
	var st steps
	lc := serve.NewLifecycle(slog.New(slog.DiscardHandler), -1, time.Second)
	lc.OnShutdown(func(context.Context) error { st.add("closed"); return nil })
	blockingServer(lc, "grpc", &st)
	boom := errors.New("event stream broke")
	lc.Go("events", func(context.Context) error { return boom })

	err := lc.Run(t.Context()) // ctx never ends: the task's failure stops it
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "events: event stream broke")
	require.Equal(t, []string{"stop grpc", "closed"}, st.get())
}

func TestLifecycleServeHTTP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	inFlight, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-release
		_, _ = w.Write([]byte("done"))
	})}
	lc := serve.NewLifecycle(slog.New(slog.DiscardHandler), -1, 5*time.Second)
	lc.ServeHTTP("public", srv, lis)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+lis.Addr().String(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		_ = resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-inFlight
	cancel() // shutdown waits for the request in flight
	time.Sleep(50 * time.Millisecond)
	close(release)
	require.Equal(t, http.StatusOK, <-got)
	require.NoError(t, <-done)
}
