package principal

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/periodic"
)

// SigningKeysClient is the part of auth's client that RemoteKeys needs.
type SigningKeysClient interface {
	GetSigningKeys(ctx context.Context, in *authv1.GetSigningKeysRequest, opts ...grpc.CallOption) (*authv1.GetSigningKeysResponse, error)
}

// RemoteKeys keeps auth's verification keys, fetched over mTLS at start,
// refreshed periodically and when an unknown kid shows up (rate-limited so a
// flood of forged kids cannot hammer auth).
type RemoteKeys struct {
	client   SigningKeysClient
	log      *slog.Logger
	keys     atomic.Pointer[map[string]ed25519.PublicKey]
	mu       sync.Mutex
	lastPull time.Time
	minGap   time.Duration
}

// NewRemoteKeys returns an empty set that fills itself from auth: call
// Refresh at start (a backend should retry until it succeeds) and Run to keep
// it current. An unknown kid also triggers a refresh.
func NewRemoteKeys(client SigningKeysClient, log *slog.Logger) *RemoteKeys {
	r := &RemoteKeys{client: client, log: log, minGap: 2 * time.Second}
	empty := map[string]ed25519.PublicKey{}
	r.keys.Store(&empty)
	return r
}

// Loaded reports whether at least one key has been fetched.
func (r *RemoteKeys) Loaded() bool { return len(*r.keys.Load()) > 0 }

// Refresh fetches the keys now (at most once per two seconds once loaded).
func (r *RemoteKeys) Refresh(ctx context.Context) error { return r.refresh(ctx) }

// PublicKey implements Keys; an unknown kid triggers one rate-limited refresh.
func (r *RemoteKeys) PublicKey(kid string) (ed25519.PublicKey, bool) {
	if pk, ok := (*r.keys.Load())[kid]; ok {
		return pk, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.refresh(ctx); err != nil {
		r.log.Warn("refresh principal signing keys", "err", err)
	}
	pk, ok := (*r.keys.Load())[kid]
	return pk, ok
}

// Run refreshes the keys every interval until ctx ends.
func (r *RemoteKeys) Run(ctx context.Context, interval time.Duration) {
	periodic.Every(ctx, interval, func(ctx context.Context) {
		if err := r.refresh(ctx); err != nil {
			r.log.Warn("refresh principal signing keys", "err", err)
		}
	})
}

func (r *RemoteKeys) refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastPull) < r.minGap && len(*r.keys.Load()) > 0 {
		return nil
	}
	r.lastPull = time.Now()
	resp, err := r.client.GetSigningKeys(ctx, &authv1.GetSigningKeysRequest{})
	if err != nil {
		return fmt.Errorf("get signing keys: %w", err)
	}
	next := make(map[string]ed25519.PublicKey, len(resp.GetKeys()))
	for _, k := range resp.GetKeys() {
		if len(k.GetPublicKey()) == ed25519.PublicKeySize {
			next[k.GetKid()] = ed25519.PublicKey(k.GetPublicKey())
		}
	}
	r.keys.Store(&next)
	return nil
}
