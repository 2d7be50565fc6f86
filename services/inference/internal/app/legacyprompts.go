package app

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
)

// legacySealInterval is how often every replica looks for assistants'
// system prompts still stored in plaintext (ADR 0077). New rows are always
// sealed; only a replica of a version before ADR 0065 writes plaintext, so
// after the first pass a pass finds nothing (one indexed-column scan of a
// small table).
const legacySealInterval = time.Hour

// keyWrapper is keyvault's KeyWrapService as promptlog.Wrapper. It sends
// no principal: the call is inference's own (mTLS identity), for a tenant
// that is not calling.
type keyWrapper struct {
	client keyvaultv1.KeyWrapServiceClient
}

func (w keyWrapper) WrapForTenant(ctx context.Context, tenant string, ec map[string]string) (plain, wrapped []byte, bound map[string]string, err error) {
	r, err := w.client.WrapForTenant(ctx, &keyvaultv1.WrapForTenantRequest{TenantId: tenant, EncryptionContext: ec})
	if err != nil {
		return nil, nil, nil, err
	}
	return r.GetPlaintext(), r.GetCiphertextBlob(), r.GetEncryptionContext(), nil
}

// SealLegacyPrompts runs one pass of the eager sealing of legacy plaintext
// system prompts (the background task runs it at start-up and then every
// legacySealInterval); without keyvault it does nothing.
func (a *App) SealLegacyPrompts(ctx context.Context) (inference.LegacySweep, error) {
	if a.wrapper == nil {
		return inference.LegacySweep{}, nil
	}
	return a.Service.SealLegacyPrompts(ctx, a.wrapper)
}

// runLegacySeal seals legacy prompts at start-up and then periodically;
// while keyvault is unavailable (it may start after inference) it retries
// sooner, doubling from 2 s.
func (a *App) runLegacySeal(ctx context.Context, log *slog.Logger) {
	const firstRetry = 2 * time.Second
	retry := firstRetry
	for {
		next := legacySealInterval
		sw, err := a.SealLegacyPrompts(ctx)
		if sw.Sealed+sw.Erased+sw.Skipped > 0 || err != nil {
			log.InfoContext(ctx, "legacy system prompts sealed", "sealed", sw.Sealed, "erased_shredded", sw.Erased, "skipped", sw.Skipped, "err", err)
		}
		if c := grpcerr.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
			next, retry = retry, min(2*retry, legacySealInterval)
		} else {
			retry = firstRetry
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
