package authn

import (
	"context"
	"errors"
	"sync"
)

// ErrStreamKeyRevoked is the cause a stream's context is cancelled with
// when its key is revoked, expires or has its grant changed, or its tenant
// is suspended or deleted, while the stream is open (ADR 0132 §3).
var ErrStreamKeyRevoked = errors.New("authn: the stream's API key was revoked or changed, or its tenant suspended")

// liveStreams are the open requests of streaming routes (a chat stream, a
// job's watch), by key id: a revocation event ends them. A key checked
// once at the start would otherwise keep a stream that follows a long job
// (WatchJob lasts as long as the job) open after it was revoked — the
// leaked-key runbook's revocation did not reach what the key had open.
type liveStreams struct {
	mu   sync.Mutex
	open map[*liveStream]struct{}
}

type liveStream struct {
	keyID, tenant string
	cancel        context.CancelCauseFunc
}

// add registers a stream of keyID in tenant; the returned func removes it.
// One flat set: opening and closing a stream is one insert and one delete
// on the request path, and a revocation (rare) walks the open streams.
func (l *liveStreams) add(keyID, tenant string, cancel context.CancelCauseFunc) func() {
	s := &liveStream{keyID: keyID, tenant: tenant, cancel: cancel}
	l.mu.Lock()
	if l.open == nil {
		l.open = map[*liveStream]struct{}{}
	}
	l.open[s] = struct{}{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.open, s)
		l.mu.Unlock()
	}
}

// endKey ends every open stream of keyID; it returns how many.
func (l *liveStreams) endKey(keyID string) int {
	return l.end(func(s *liveStream) bool { return s.keyID == keyID })
}

// endTenant ends every open stream of tenant; it returns how many.
func (l *liveStreams) endTenant(tenant string) int {
	return l.end(func(s *liveStream) bool { return s.tenant == tenant })
}

// end cancels the open streams match selects.
func (l *liveStreams) end(match func(*liveStream) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for s := range l.open {
		if match(s) {
			s.cancel(ErrStreamKeyRevoked)
			n++
		}
	}
	return n
}

// count is the number of open streams (tests).
func (l *liveStreams) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}
