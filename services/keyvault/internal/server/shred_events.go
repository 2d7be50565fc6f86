package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// ShredEvents implements keyvaultv1.ShredEventsServiceServer: the stream of
// crypto-shreds that ingestion and inference follow to drop a shredded
// tenant's cached data keys at once (ADR 0084). Its guard is the
// per-method mTLS allow-list (those two services); it takes no principal.
type ShredEvents struct {
	keyvaultv1.UnimplementedShredEventsServiceServer
	svc *vault.Service
	log *slog.Logger
	// draining closes when the server starts shutting down.
	draining <-chan struct{}
}

// NewShredEvents returns the ShredEventsService handlers; their streams end
// with Unavailable once draining is closed (pass serve.Server.Draining, or
// nil), so a replica's shutdown does not wait for them and the watchers
// reconnect to another replica with their cursor (as auth's watch streams,
// ADR 0072).
func NewShredEvents(svc *vault.Service, log *slog.Logger, draining <-chan struct{}) *ShredEvents {
	return &ShredEvents{svc: svc, log: log, draining: draining}
}

// errShredDraining ends a stream at shutdown; clients reconnect.
var errShredDraining = fmt.Errorf("keyvault is shutting down, reconnect: %w", grpcerr.ErrUnavailable)

// WatchShreds implements the RPC.
func (s *ShredEvents) WatchShreds(r *keyvaultv1.WatchShredsRequest, stream keyvaultv1.ShredEventsService_WatchShredsServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	if s.draining != nil {
		go func() { // ends with the stream at the latest
			select {
			case <-s.draining:
				cancel(errShredDraining)
			case <-ctx.Done():
			}
		}()
	}
	// Headers go out once the start is fixed: a client that has seen them
	// cannot miss a later shred.
	header := func() error { return stream.SendHeader(metadata.MD{}) }
	from := vault.ShredCursor{Seq: r.GetAfterCursor(), Tenant: r.GetAfterTenantId()}
	if r.GetAfterShredTime() != nil {
		from.At = r.GetAfterShredTime().AsTime()
	}
	err := s.svc.WatchShreds(ctx, actor(ctx), from, vault.ShredSink{
		Shred: func(e vault.ShredEvent) error {
			return stream.Send(&keyvaultv1.WatchShredsResponse{Cursor: e.Seq, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_SHREDDED,
				TenantId: e.Tenant, ShredTime: timestamppb.New(e.ShreddedAt)})
		},
		Resync: func(at vault.ShredEvent) error {
			m := &keyvaultv1.WatchShredsResponse{Cursor: at.Seq, Kind: keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC, TenantId: at.Tenant}
			if at.Tenant != "" {
				m.ShredTime = timestamppb.New(at.ShreddedAt)
			}
			return stream.Send(m)
		},
		Ready: header,
	})
	if errors.Is(context.Cause(ctx), errShredDraining) {
		return grpcerr.ToStatus(ctx, s.log, errShredDraining)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return toStatus(ctx, s.log, err)
}
