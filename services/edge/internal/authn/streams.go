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
	mu    sync.Mutex
	byKey map[string]map[*liveStream]struct{}
}

type liveStream struct {
	tenant string
	cancel context.CancelCauseFunc
}

// add registers a stream of keyID in tenant; the returned func removes it.
func (l *liveStreams) add(keyID, tenant string, cancel context.CancelCauseFunc) func() {
	s := &liveStream{tenant: tenant, cancel: cancel}
	l.mu.Lock()
	if l.byKey == nil {
		l.byKey = map[string]map[*liveStream]struct{}{}
	}
	set := l.byKey[keyID]
	if set == nil {
		set = map[*liveStream]struct{}{}
		l.byKey[keyID] = set
	}
	set[s] = struct{}{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if set := l.byKey[keyID]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(l.byKey, keyID)
			}
		}
	}
}

// endKey ends every open stream of keyID; it returns how many.
func (l *liveStreams) endKey(keyID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for s := range l.byKey[keyID] {
		s.cancel(ErrStreamKeyRevoked)
		n++
	}
	return n
}

// endTenant ends every open stream of tenant; it returns how many.
func (l *liveStreams) endTenant(tenant string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, set := range l.byKey {
		for s := range set {
			if s.tenant == tenant {
				s.cancel(ErrStreamKeyRevoked)
				n++
			}
		}
	}
	return n
}

// count is the number of open streams (tests).
func (l *liveStreams) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, set := range l.byKey {
		n += len(set)
	}
	return n
}
