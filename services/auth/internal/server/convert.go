package server

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Metadata keys set by the edge.
const (
	mdRequestID    = "x-request-id"
	mdForwardedFor = "x-forwarded-for"
)

func firstMD(ctx context.Context, key string) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	v := md.Get(key)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func requestID(ctx context.Context) string {
	if id := logging.RequestID(ctx); id != "" {
		return id
	}
	return clip(firstMD(ctx, mdRequestID), 128)
}

// sourceIP is the client address the edge reports: the first hop of
// x-forwarded-for.
func sourceIP(ctx context.Context) string {
	xff := firstMD(ctx, mdForwardedFor)
	if i := strings.IndexByte(xff, ','); i >= 0 {
		xff = xff[:i]
	}
	return clip(strings.TrimSpace(xff), 64)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// caller builds the domain caller from the verified principal, as asserted
// (WhoAmI reports exactly that). The tenant comes only from it.
func caller(ctx context.Context) (keys.Caller, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return keys.Caller{}, grpcerr.ErrUnauthenticated
	}
	var role store.Role
	for _, r := range p.GetRoles() {
		if rr := keys.RoleFromName(r); rr != 0 && (role == 0 || rr < role) {
			role = rr
		}
	}
	return keys.Caller{TenantID: p.GetTenantId(), KeyID: p.GetKeyId(), Subject: p.GetSubject(), Role: role,
		Scopes: p.GetScopes(), RequestID: requestID(ctx), SourceIP: sourceIP(ctx)}, nil
}

// caller is the management caller: the asserted principal re-read from the
// store (keys.Service.Current), so a demotion, a revocation or a
// suspension binds management calls at once, not after the edge's cache.
func (s *Server) caller(ctx context.Context) (keys.Caller, error) {
	c, err := caller(ctx)
	if err != nil {
		return keys.Caller{}, err
	}
	if id, err := mtls.PeerID(ctx); err == nil && id.String() == predecessorCaller {
		c.ActsAsPredecessor = true
	}
	return s.svc.Current(ctx, c)
}

// predecessorCaller is the one identity whose calls may act on a key's
// replacement as the rotated-out key: keyvault's crash recovery (ADR 0009).
var predecessorCaller = pki.ServiceID("keyvault")

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func keyPB(k store.Key) *authv1.ApiKey {
	return &authv1.ApiKey{
		KeyId: k.ID, Prefix: "rk_" + k.ID, Name: k.Name, Subject: k.Subject, Scopes: k.Scopes,
		AllowedModels: k.AllowedModels, AllowedEndpoints: k.AllowedEndpoints, Limits: limitsPB(k.Limits),
		State: authv1.KeyState(k.State), CreateTime: ts(k.CreatedAt), ExpireTime: ts(k.ExpiresAt),
		LastUsedTime: ts(k.LastUsedAt), ReplacedBy: k.ReplacedBy,
	}
}

func limitsPB(l store.Limits) *authv1.Limits {
	return &authv1.Limits{RequestsPerMinute: l.RPM, TokensPerMinute: l.TPM, MonthlyTokenBudget: l.MonthlyTokens,
		TenantRequestsPerMinute: l.TenantRPM, TenantTokensPerMinute: l.TenantTPM, TenantMonthlyTokenBudget: l.TenantMonthlyTokens}
}

func limitsFromPB(l *authv1.Limits) store.Limits {
	return store.Limits{RPM: l.GetRequestsPerMinute(), TPM: l.GetTokensPerMinute(), MonthlyTokens: l.GetMonthlyTokenBudget(),
		TenantRPM: l.GetTenantRequestsPerMinute(), TenantTPM: l.GetTenantTokensPerMinute(), TenantMonthlyTokens: l.GetTenantMonthlyTokenBudget(),
		TenantMaxStreams: l.GetTenantMaxConcurrentStreams(), PlatformMaxStreams: l.GetPlatformMaxConcurrentStreams()}
}

func tenantPB(t store.Tenant) *authv1.Tenant {
	return &authv1.Tenant{TenantId: t.ID, Name: t.Name, State: authv1.TenantState(t.State), CreateTime: ts(t.CreatedAt),
		DeleteTime: ts(t.DeletedAt), PurgeTime: ts(t.PurgeAt), Limits: tenantLimitsPB(t.Limits)}
}

func tenantLimitsPB(l store.TenantLimits) *authv1.TenantLimits {
	return &authv1.TenantLimits{RequestsPerMinute: l.RPM, TokensPerMinute: l.TPM, MonthlyTokenBudget: l.MonthlyTokens,
		AllowedModels: l.AllowedModels, MaxConcurrentStreams: l.MaxStreams}
}

func tenantLimitsFromPB(l *authv1.TenantLimits) store.TenantLimits {
	return store.TenantLimits{RPM: l.GetRequestsPerMinute(), TPM: l.GetTokensPerMinute(), MonthlyTokens: l.GetMonthlyTokenBudget(),
		AllowedModels: l.GetAllowedModels(), MaxStreams: l.GetMaxConcurrentStreams()}
}

func memberPB(m store.Member) *authv1.Member {
	return &authv1.Member{MemberId: m.ID, Subject: m.Subject, Kind: authv1.MemberKind(m.Kind), Role: authv1.Role(m.Role),
		CreateTime: ts(m.CreatedAt), UpdateTime: ts(m.UpdatedAt)}
}

func auditPB(r store.AuditRecord) *authv1.AuditEvent {
	return &authv1.AuditEvent{Seq: r.Seq, TenantId: r.TenantID, Time: ts(r.At), Actor: r.Actor, Action: r.Action,
		Target: r.Target, Result: r.Result, RequestId: r.RequestID, SourceIp: r.SourceIP, PrevHash: r.PrevHash, Hash: r.Hash}
}

// page validates page_size (default 50, max 500) and decodes page_token.
func page(size int32, token string) (int, string, error) {
	switch {
	case size < 0:
		return 0, "", grpcerr.Invalid("page_size", "must not be negative")
	case size == 0:
		size = 50
	case size > 500:
		return 0, "", grpcerr.Invalid("page_size", "must be at most 500")
	}
	if token == "" {
		return int(size), "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || len(b) > 128 {
		return 0, "", grpcerr.Invalid("page_token", "is not a token returned by a previous call")
	}
	return int(size), string(b), nil
}

// pageOf is one page of a list in id order: its items as messages and
// the token of the next page (after the last item's id; "" when the page
// is not full: the last one).
func pageOf[T, M any](items []T, limit int, pb func(T) M, id func(T) string) ([]M, string) {
	out := make([]M, 0, len(items))
	for _, it := range items {
		out = append(out, pb(it))
	}
	if len(items) == 0 {
		return out, ""
	}
	return out, nextToken(len(items), limit, id(items[len(items)-1]))
}

func nextToken(n, limit int, last string) string {
	if n < limit {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

func seqToken(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, grpcerr.Invalid("page_token", "is not a token returned by a previous call")
	}
	return v, nil
}
