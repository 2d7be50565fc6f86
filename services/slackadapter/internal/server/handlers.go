package server

import (
	"context"
	"fmt"
	"net/http"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// Handlers implement SlackAdapterService.
type Handlers struct {
	slackadapterv1.UnimplementedSlackAdapterServiceServer
	Bot *bot.Adapter
}

// HandleEvent relays one Slack HTTP request to the bot.
func (h *Handlers) HandleEvent(ctx context.Context, r *slackadapterv1.HandleEventRequest) (*slackadapterv1.HandleEventResponse, error) {
	hdr := make(http.Header, len(r.GetHeaders()))
	for _, kv := range r.GetHeaders() {
		hdr.Add(kv.GetName(), kv.GetValue())
	}
	resp := h.Bot.HandleHTTP(ctx, bot.Request{Method: r.GetMethod(), Path: r.GetPath(), RawQuery: r.GetRawQuery(), Header: hdr, Body: r.GetBody()})
	out := &slackadapterv1.HandleEventResponse{StatusCode: int32(resp.Status), ContentType: resp.ContentType, Body: resp.Body} //nolint:gosec // HTTP status
	for name, vals := range resp.Header {
		for _, v := range vals {
			out.Headers = append(out.Headers, &slackadapterv1.Header{Name: name, Value: v})
		}
	}
	return out, nil
}

func caller(ctx context.Context) (context.Context, bot.Caller, error) {
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return ctx, bot.Caller{}, grpcerr.ErrUnauthenticated
	}
	// Outgoing calls made for this request (auth CreateKey, ingestion's
	// collections) carry the caller's delegation for their service
	// (principal.ForwardTo in internal/platform), which the edge sends
	// only with the RPCs that make them (permissions CallDelegates, ADR
	// 0105 §3: auth's with GetInstallUrl alone).
	return ctx, bot.Caller{TenantID: p.GetTenantId(), KeyID: p.GetKeyId(), Subject: p.GetSubject(), Roles: p.GetRoles(), Scopes: p.GetScopes(),
		AllowedModels: p.GetAllowedModels()}, nil
}

// GetInstallUrl returns the install URL for the caller's tenant.
func (h *Handlers) GetInstallUrl(ctx context.Context, _ *slackadapterv1.GetInstallUrlRequest) (*slackadapterv1.GetInstallUrlResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, exp, err := h.Bot.InstallURL(ctx, c)
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.GetInstallUrlResponse{Url: u, ExpiresAt: exp.Unix()}, nil
}

// operatorID is the platform operator's mTLS identity (the CLI).
var operatorID = pki.ServiceID("rampart-cli")

// operator admits only the platform operator: the rampart-cli mTLS peer.
// Everything the edge relays (any tenant's key, admins and owners
// included) is refused: the Slack app is deployment configuration.
func operator(ctx context.Context) error {
	if id, err := mtls.PeerID(ctx); err == nil && id.String() == operatorID {
		return nil
	}
	return fmt.Errorf("the Slack app is deployment configuration set by the platform operator "+
		"(`rampart slack app set` over mTLS); tenants install workspaces with GET /v1/slack/install: %w", grpcerr.ErrPermissionDenied)
}

// ConfigureApp sets the Slack app credentials (platform operator only).
func (h *Handlers) ConfigureApp(ctx context.Context, r *slackadapterv1.ConfigureAppRequest) (*slackadapterv1.ConfigureAppResponse, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	at, err := h.Bot.SetApp(ctx, r.GetClientId(), r.GetClientSecret(), r.GetSigningSecret())
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.ConfigureAppResponse{ClientId: r.GetClientId(), UpdatedAt: at.Unix()}, nil
}

// GetApp shows the configured app (platform operator only).
func (h *Handlers) GetApp(ctx context.Context, _ *slackadapterv1.GetAppRequest) (*slackadapterv1.GetAppResponse, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	id, at, err := h.Bot.App(ctx)
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.GetAppResponse{ClientId: id, UpdatedAt: at.Unix()}, nil
}

// ListInstallations lists the caller's tenant's workspaces.
func (h *Handlers) ListInstallations(ctx context.Context, _ *slackadapterv1.ListInstallationsRequest) (*slackadapterv1.ListInstallationsResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Bot.Installations(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &slackadapterv1.ListInstallationsResponse{}
	for _, in := range list {
		pi := &slackadapterv1.Installation{TeamId: in.TeamID, EnterpriseId: in.EnterpriseID, TeamName: in.TeamName,
			BotUserId: in.BotUserID, InstalledAt: in.InstalledAt.Unix()}
		if !in.TokenExpiresAt.IsZero() {
			pi.TokenExpiresAt = in.TokenExpiresAt.Unix()
		}
		if in.Disabled() {
			pi.DisabledAt = in.DisabledAt.Unix()
		}
		p, err := h.Bot.Policy(ctx, c, in.TeamID)
		if err != nil {
			return nil, err
		}
		pi.Policy = policyProto(p)
		out.Installations = append(out.Installations, pi)
	}
	return out, nil
}

func policyProto(p store.Policy) *slackadapterv1.InstallationPolicy {
	out := &slackadapterv1.InstallationPolicy{TeamId: p.TeamID, BindableAssistants: p.BindableAssistants,
		BindableCollections: p.BindableCollections, AllowExternalUsers: p.AllowExternalUsers, UpdatedBy: p.UpdatedBy, Etag: p.Etag()}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = p.UpdatedAt.Unix()
	}
	return out
}

// SetInstallationPolicy sets what Slack users may do with a workspace of
// the caller's tenant (ADR 0097); with etag, only over the policy that
// etag was read with (ADR 0112).
func (h *Handlers) SetInstallationPolicy(ctx context.Context, r *slackadapterv1.SetInstallationPolicyRequest) (*slackadapterv1.SetInstallationPolicyResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := h.Bot.SetPolicy(ctx, c, store.Policy{TeamID: r.GetTeamId(), BindableAssistants: r.GetBindableAssistants(),
		BindableCollections: r.GetBindableCollections(), AllowExternalUsers: r.GetAllowExternalUsers()}, r.GetEtag())
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.SetInstallationPolicyResponse{Policy: policyProto(p)}, nil
}

// UpdateInstallationPolicy changes the fields of a workspace's policy
// that the update mask names (ADR 0103).
func (h *Handlers) UpdateInstallationPolicy(ctx context.Context, r *slackadapterv1.UpdateInstallationPolicyRequest) (*slackadapterv1.UpdateInstallationPolicyResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v := r.GetPolicy()
	p, err := h.Bot.UpdatePolicy(ctx, c, bot.PolicyUpdate{TeamID: r.GetTeamId(), Mask: r.GetUpdateMask().GetPaths(), Etag: v.GetEtag(),
		Values: store.Policy{BindableAssistants: v.GetBindableAssistants(), BindableCollections: v.GetBindableCollections(),
			AllowExternalUsers: v.GetAllowExternalUsers()}})
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.UpdateInstallationPolicyResponse{Policy: policyProto(p)}, nil
}

func bindingProto(b store.Binding) *slackadapterv1.Binding {
	return &slackadapterv1.Binding{TeamId: b.TeamID, ChannelId: b.ChannelID, Assistant: b.Assistant,
		Collections: b.Collections, UpdatedBy: b.UpdatedBy, UpdatedAt: b.UpdatedAt.Unix()}
}

// SetBinding binds a workspace or channel of the caller's tenant.
func (h *Handlers) SetBinding(ctx context.Context, r *slackadapterv1.SetBindingRequest) (*slackadapterv1.SetBindingResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	b, err := h.Bot.SetBinding(ctx, c, store.Binding{TeamID: r.GetTeamId(), ChannelID: r.GetChannelId(),
		Assistant: r.GetAssistant(), Collections: r.GetCollections()})
	if err != nil {
		return nil, err
	}
	return &slackadapterv1.SetBindingResponse{Binding: bindingProto(b)}, nil
}

// ListBindings lists the caller's tenant's bindings.
func (h *Handlers) ListBindings(ctx context.Context, r *slackadapterv1.ListBindingsRequest) (*slackadapterv1.ListBindingsResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Bot.Bindings(ctx, c, r.GetTeamId())
	if err != nil {
		return nil, err
	}
	out := &slackadapterv1.ListBindingsResponse{}
	for _, b := range list {
		out.Bindings = append(out.Bindings, bindingProto(b))
	}
	return out, nil
}

// DeleteBinding removes a binding of the caller's tenant.
func (h *Handlers) DeleteBinding(ctx context.Context, r *slackadapterv1.DeleteBindingRequest) (*slackadapterv1.DeleteBindingResponse, error) {
	ctx, c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Bot.DeleteBinding(ctx, c, r.GetTeamId(), r.GetChannelId()); err != nil {
		return nil, err
	}
	return &slackadapterv1.DeleteBindingResponse{}, nil
}
