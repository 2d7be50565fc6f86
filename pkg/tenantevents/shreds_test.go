package tenantevents_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
)

// fakeShreds answers each WatchShreds with the next scripted session: its
// events, then its end (an error, or io.EOF).
type fakeShreds struct {
	sessions [][]*keyvaultv1.WatchShredsResponse
	ends     []error
	afters   []int64 // the cursor each session was opened with
	reqs     []*keyvaultv1.WatchShredsRequest
}

type fakeShredStream struct {
	grpc.ClientStream
	evs []*keyvaultv1.WatchShredsResponse
	end error
}

func (s *fakeShredStream) Recv() (*keyvaultv1.WatchShredsResponse, error) {
	if len(s.evs) == 0 {
		return nil, s.end
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (f *fakeShreds) WatchShreds(_ context.Context, in *keyvaultv1.WatchShredsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[keyvaultv1.WatchShredsResponse], error) {
	f.afters = append(f.afters, in.GetAfterCursor())
	f.reqs = append(f.reqs, in)
	i := len(f.afters) - 1
	return &fakeShredStream{evs: f.sessions[i], end: f.ends[i]}, nil
}

// recordingCache records what the watcher dropped.
type recordingCache struct {
	forgot []string
	all    int
}

func (c *recordingCache) Forget(tenant string) { c.forgot = append(c.forgot, tenant) }
func (c *recordingCache) ForgetAll()           { c.all++ }

func shredded(cursor int64, tenant string) *keyvaultv1.WatchShredsResponse {
	return &keyvaultv1.WatchShredsResponse{Cursor: cursor, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_SHREDDED, TenantId: tenant}
}

// TestShredWatcherDropsKeysAndResumes (ADR 0084): each shred drops the
// tenant from every cache; a reconnect resumes after the last shred handled
// (so shreds made while the stream was down are applied); a RESYNC drops
// every key and moves the cursor to keyvault's.
func TestShredWatcherDropsKeysAndResumes(t *testing.T) {
	f := &fakeShreds{
		sessions: [][]*keyvaultv1.WatchShredsResponse{
			{shredded(1, "a"), shredded(2, "b")},
			{shredded(5, "c"), {Cursor: 99, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_UNSPECIFIED}},
			{},
			{{Cursor: 3, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC}},
		},
		ends: []error{errors.New("connection reset"), io.EOF, errors.New("unavailable"), errors.New("drained")},
	}
	ring, logs := &recordingCache{}, &recordingCache{}
	w := tenantevents.NewShredWatcher(f, slog.New(slog.DiscardHandler), ring, logs)
	ctx := context.Background()

	progressed, err := w.Session(ctx)
	require.True(t, progressed)
	require.ErrorContains(t, err, "connection reset")
	require.Equal(t, []string{"a", "b"}, ring.forgot)
	require.Equal(t, []string{"a", "b"}, logs.forgot, "every cache")
	require.EqualValues(t, 2, w.Cursor())

	progressed, err = w.Session(ctx)
	require.True(t, progressed)
	require.ErrorContains(t, err, "stream closed by keyvault")
	require.Equal(t, []string{"a", "b", "c"}, ring.forgot)
	require.EqualValues(t, 5, w.Cursor(), "an unknown kind moves nothing")

	progressed, err = w.Session(ctx)
	require.False(t, progressed, "a session without events does not reset the backoff")
	require.ErrorContains(t, err, "unavailable")

	_, err = w.Session(ctx)
	require.ErrorContains(t, err, "drained")
	require.Equal(t, 1, ring.all)
	require.Equal(t, 1, logs.all)
	require.EqualValues(t, 3, w.Cursor(), "continues from keyvault's cursor")
	require.Equal(t, []int64{0, 2, 5, 5}, f.afters, "each reconnect resumes after the last shred handled")
}

// TestShredWatcherResumeNamesTheShred (ADR 0095): a reconnect names the
// shred at its cursor (tenant and time, as received) so a keyvault
// restored from a backup, which numbers other shreds the same, can tell
// and answer RESYNC; after a RESYNC it names the shred the RESYNC named.
func TestShredWatcherResumeNamesTheShred(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 12, 7, 7, 0, 0, 123, time.UTC))
	later := timestamppb.New(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	ev := shredded(4, "b")
	ev.ShredTime = at
	f := &fakeShreds{
		sessions: [][]*keyvaultv1.WatchShredsResponse{
			{shredded(1, "a"), ev},
			{{Cursor: 2, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC, TenantId: "x", ShredTime: later}},
			{{Cursor: 0, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC}},
			{},
		},
		ends: []error{io.EOF, io.EOF, io.EOF, io.EOF},
	}
	cache := &recordingCache{}
	w := tenantevents.NewShredWatcher(f, slog.New(slog.DiscardHandler), cache)
	for range f.sessions {
		_, err := w.Session(context.Background())
		require.Error(t, err)
	}
	want := []*keyvaultv1.WatchShredsRequest{
		{},
		{AfterCursor: 4, AfterTenantId: "b", AfterShredTime: at},
		{AfterCursor: 2, AfterTenantId: "x", AfterShredTime: later},
		{}, // a RESYNC to an empty history: from the start, naming nothing
	}
	require.Len(t, f.reqs, len(want))
	for i := range want {
		require.True(t, proto.Equal(want[i], f.reqs[i]), "session %d: %v", i, f.reqs[i])
	}
	require.Equal(t, 2, cache.all)
}
