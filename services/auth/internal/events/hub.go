package events

import "sync"

// Hub is a broadcast doorbell: Wait returns a channel closed by the next
// Notify.
type Hub struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewHub returns a Hub.
func NewHub() *Hub { return &Hub{ch: make(chan struct{})} }

// Wait returns a channel that is closed at the next Notify.
func (h *Hub) Wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}

// Notify wakes every current waiter.
func (h *Hub) Notify() {
	h.mu.Lock()
	close(h.ch)
	h.ch = make(chan struct{})
	h.mu.Unlock()
}
