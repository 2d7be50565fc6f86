package authtest

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// PublishRevocation appends a revocation event (its cursor is assigned)
// and wakes the streams.
func (s *Server) PublishRevocation(ev *authv1.WatchRevocationsResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev = proto.CloneOf(ev)
	ev.Cursor = int64(len(s.revocations) + 1)
	s.revocations = append(s.revocations, ev)
	s.wakeLocked()
}

// PublishTenantEvent appends a tenant event and returns its cursor.
func (s *Server) PublishTenantEvent(kind authv1.TenantEventKind, tenant string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := int64(len(s.tenantEvs) + 1)
	s.tenantEvs = append(s.tenantEvs, &authv1.WatchTenantEventsResponse{Cursor: c, Kind: kind, TenantId: tenant, Time: time.Now().Unix()})
	s.wakeLocked()
	return c
}

// PublishMemberEvent appends a member event (MEMBER_REMOVED or
// MEMBER_READ_ONLY) of tenant naming the member record member.
func (s *Server) PublishMemberEvent(kind authv1.TenantEventKind, tenant, member string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := int64(len(s.tenantEvs) + 1)
	s.tenantEvs = append(s.tenantEvs, &authv1.WatchTenantEventsResponse{Cursor: c, Kind: kind, TenantId: tenant, MemberId: member, Time: time.Now().Unix()})
	s.wakeLocked()
	return c
}

func (s *Server) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// DropStreams ends every open stream (both kinds) with Unavailable.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.cancels {
		c()
		delete(s.cancels, id)
	}
}

// RefuseStreams makes new WatchRevocations and WatchTenantEvents calls fail
// with Unavailable (true) or succeed again (false).
func (s *Server) RefuseStreams(refuse bool) { s.refuse.Store(refuse) }

// EndTenantStreamsWhenCaughtUp makes WatchTenantEvents end its stream
// (status OK) once it has sent every event, as a server going away
// between sessions does.
func (s *Server) EndTenantStreamsWhenCaughtUp(on bool) { s.endCaughtUp.Store(on) }

// Subscriptions returns how many WatchRevocations calls were served.
func (s *Server) Subscriptions() int64 { return s.streams.Load() }

// Watches receives the after_cursor of WatchTenantEvents calls (the first
// 64 not yet received; later ones are only in TenantWatchCursors).
func (s *Server) Watches() <-chan int64 { return s.watches }

// TenantWatchCursors returns the after_cursor of every WatchTenantEvents
// call so far.
func (s *Server) TenantWatchCursors() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.tenantAsked...)
}

// register makes a stream droppable by DropStreams; the returned context
// ends when the client leaves or the stream is dropped.
func (s *Server) register(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	s.mu.Lock()
	id := s.nextStream
	s.nextStream++
	s.cancels[id] = cancel
	s.mu.Unlock()
	return ctx, func() {
		cancel()
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
	}
}

// WatchRevocations implements AuthService: events after the cursor (0:
// from now), headers sent as soon as the subscription is registered.
func (s *Server) WatchRevocations(req *authv1.WatchRevocationsRequest, stream grpc.ServerStreamingServer[authv1.WatchRevocationsResponse]) error {
	if s.refuse.Load() {
		return status.Error(codes.Unavailable, "revocation stream unavailable")
	}
	ctx, done := s.register(stream.Context())
	defer done()
	s.mu.Lock()
	next := req.GetAfterCursor()
	if next == 0 {
		next = int64(len(s.revocations))
	}
	s.mu.Unlock()
	s.streams.Add(1)
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		pending := append([]*authv1.WatchRevocationsResponse(nil), s.revocations[min(int(next), len(s.revocations)):]...)
		wait := s.changed
		s.mu.Unlock()
		for _, ev := range pending {
			if err := stream.Send(ev); err != nil {
				return err
			}
			next = ev.GetCursor()
		}
		select {
		case <-ctx.Done():
			return status.Error(codes.Unavailable, "stream dropped")
		case <-wait:
		}
	}
}

// WatchTenantEvents implements AuthService: events after the cursor, then
// new ones as they are published, until DropStreams or the client leaves.
func (s *Server) WatchTenantEvents(r *authv1.WatchTenantEventsRequest, stream grpc.ServerStreamingServer[authv1.WatchTenantEventsResponse]) error {
	if r.GetAfterCursor() < 0 {
		return status.Error(codes.InvalidArgument, "after_cursor: must not be negative")
	}
	if s.refuse.Load() {
		return status.Error(codes.Unavailable, "tenant event stream unavailable")
	}
	ctx, done := s.register(stream.Context())
	defer done()
	s.mu.Lock()
	s.tenantAsked = append(s.tenantAsked, r.GetAfterCursor())
	s.mu.Unlock()
	select {
	case s.watches <- r.GetAfterCursor():
	default:
	}
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	next := r.GetAfterCursor()
	for {
		s.mu.Lock()
		var batch []*authv1.WatchTenantEventsResponse
		for _, e := range s.tenantEvs {
			if e.GetCursor() > next {
				batch = append(batch, e)
			}
		}
		wait := s.changed
		s.mu.Unlock()
		for _, e := range batch {
			if err := stream.Send(e); err != nil {
				return err
			}
			next = e.GetCursor()
		}
		if s.endCaughtUp.Load() {
			return nil
		}
		select {
		case <-stream.Context().Done():
			return nil // the client left
		case <-ctx.Done():
			return status.Error(codes.Unavailable, "stream dropped")
		case <-wait:
		}
	}
}
