package promptlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// ErrResponseNotFound is returned for a stored response the tenant does not
// have (unknown, deleted, purged, or another tenant's).
var ErrResponseNotFound = errors.New("stored response not found")

// ResponseStore is what Responses needs of the store.
type ResponseStore interface {
	InsertStoredResponse(ctx context.Context, r store.StoredResponse) error
	StoredResponse(ctx context.Context, tenant, id string) (store.StoredResponse, error)
	DeleteStoredResponse(ctx context.Context, tenant, id string) error
}

// Responses keeps stored Responses API responses (store: true) sealed with
// the tenant's prompt-log data key: the same key, cache, KMS binding and
// seal format as prompt logs, so a stored conversation is never on disk in
// plaintext. Storing does not depend on the tenant's prompt-logging switch:
// the client asked for it with store: true.
type Responses struct {
	keys  *Logger
	store ResponseStore
}

// NewResponses returns stored responses sealed with l's tenant keys.
func NewResponses(l *Logger, s ResponseStore) *Responses {
	return &Responses{keys: l, store: s}
}

// StoredResponse is what is sealed for one response: the conversation that
// led to it (as chat-style input items) and the response object.
type StoredResponse struct {
	// Input is the request's input items, after any previous response's
	// items were prepended: a later previous_response_id continues from
	// here without reading the whole chain.
	Input json.RawMessage `json:"input"`
	// Response is the response object as returned to the client.
	Response json.RawMessage `json:"response"`
	// Needs is what a reader must be allowed to ask for to read it (nil in
	// responses stored before ADR 0088: readable by every chat key of the
	// tenant, as before).
	Needs *ReaderNeeds `json:"needs,omitempty"`
}

// ReaderNeeds is what the request that made a stored response needed, so
// that only a key that could have asked it reads its answer (ADR 0088): a
// grounded answer quotes documents a narrower key of the same tenant may
// not reach.
type ReaderNeeds struct {
	// Search: the request named collections itself (rampart.collections),
	// which needs ingest:read.
	Search bool `json:"search,omitempty"`
	// Models are the model names the request used (the requested name,
	// e.g. an assistant's, and the answering model's); a key with a model
	// allow-list must allow one of them.
	Models []string `json:"models,omitempty"`
	// Earlier are the model sets of the stored responses this one
	// continues (previous_response_id, transitively): its input holds their
	// conversations, so a reader must be allowed one model of each set too
	// (authorization review 6). Their Search is folded into Search.
	Earlier [][]string `json:"earlier,omitempty"`
}

// Continuing returns n extended by prev, the needs of the stored response
// n's request continued (nil: one stored before ADR 0088, which adds
// nothing).
func (n *ReaderNeeds) Continuing(prev *ReaderNeeds) *ReaderNeeds {
	if prev == nil {
		return n
	}
	n.Search = n.Search || prev.Search
	for _, set := range append([][]string{prev.Models}, prev.Earlier...) {
		if len(set) > 0 && !slices.Equal(set, n.Models) &&
			!slices.ContainsFunc(n.Earlier, func(e []string) bool { return slices.Equal(e, set) }) {
			n.Earlier = append(n.Earlier, set)
		}
	}
	return n
}

// responseAAD binds a sealed response to its tenant and id, in a domain of
// its own: a prompt log's ciphertext (AAD tenant ‖ 0 ‖ request id) never
// opens as a stored response, or the reverse.
func responseAAD(tenant, id string) []byte {
	const domain = "rampart-stored-response"
	b := make([]byte, 0, len(domain)+2+len(tenant)+len(id))
	b = append(append(b, domain...), 0)
	b = append(append(b, tenant...), 0)
	return append(b, id...)
}

// Put seals and stores the tenant's response id.
func (r *Responses) Put(ctx context.Context, tenant, id string, at time.Time, v StoredResponse) error {
	g, err := r.keys.aead(ctx, tenant, true)
	if err != nil {
		return err
	}
	pt, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("stored response: encode: %w", err)
	}
	out, err := seal(g, pt, responseAAD(tenant, id))
	clear(pt)
	if err != nil {
		return err
	}
	return r.store.InsertStoredResponse(ctx, store.StoredResponse{Tenant: tenant, ID: id, Sealed: out, At: at})
}

// Get returns the tenant's response id, decrypted.
func (r *Responses) Get(ctx context.Context, tenant, id string) (StoredResponse, error) {
	row, err := r.store.StoredResponse(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return StoredResponse{}, ErrResponseNotFound
	}
	if err != nil {
		return StoredResponse{}, err
	}
	g, err := r.keys.aead(ctx, tenant, false)
	if errors.Is(err, ErrNotFound) {
		return StoredResponse{}, ErrResponseNotFound
	}
	if err != nil {
		return StoredResponse{}, err
	}
	pt, err := unseal(g, row.Sealed, responseAAD(tenant, id))
	if err != nil {
		return StoredResponse{}, fmt.Errorf("stored response: %w", err)
	}
	var v StoredResponse
	if err := json.Unmarshal(pt, &v); err != nil {
		return StoredResponse{}, fmt.Errorf("stored response: decode: %w", err)
	}
	return v, nil
}

// Delete removes the tenant's response id.
func (r *Responses) Delete(ctx context.Context, tenant, id string) error {
	err := r.store.DeleteStoredResponse(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrResponseNotFound
	}
	return err
}
