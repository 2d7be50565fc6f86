package slackadaptertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Call is one call as served: the method ("HandleEvent", "ConfigureApp", ...), its caller, its
// verified principal (nil on the methods that need none), request id and
// request.
type Call = grpctest.Call

// Script answers a call of a method other than ConfigureApp and GetApp:
// the method's response message (e.g. *slackadapterv1.HandleEventResponse
// for HandleEvent) or an error.
type Script func(c *Call) (proto.Message, error)

// Options configure Start.
type Options struct {
	// Keys verify the principal assertions of the methods that need one
	// (nil: those calls are refused Unauthenticated).
	Keys principal.Keys
	// Callers, when set, are the only service identities admitted (names
	// of the test PKI, e.g. "edge"); others get PermissionDenied. Empty
	// admits whom the permission table admits.
	Callers []string
	// Script answers the methods the double does not keep state for (nil:
	// Unimplemented).
	Script Script
	// Now is the clock of ConfigureApp's updated_at (nil: time.Now).
	Now func() time.Time
}

// Server is the running stand-in.
type Server struct {
	slackadapterv1.UnimplementedSlackAdapterServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string

	now  func() time.Time
	grpc *grpc.Server

	calls grpctest.Log[Call]

	mu        sync.Mutex
	script    Script
	appClient string
	appAt     time.Time
}

// Start serves a stand-in with the "slackadapter" certificate of certDir
// (pkitest.NewDir(t, "slackadapter", "edge", ...)) until the test ends.
func Start(t testing.TB, certDir string, o Options) *Server {
	t.Helper()
	s := &Server{now: o.Now, script: o.Script}
	if s.now == nil {
		s.now = time.Now
	}
	keys := o.Keys
	if keys == nil {
		keys = principal.StaticKeys{} // verifies nothing: every assertion is refused
	}
	s.grpc = grpctest.NewGuardedServer(t, certDir, "slackadapter", slackadapterv1.SlackAdapterService_ServiceDesc.ServiceName, keys, o.Callers...)
	slackadapterv1.RegisterSlackAdapterServiceServer(s.grpc, s)
	s.Addr = grpctest.Serve(t, s.grpc)
	return s
}

// Stop stops serving at once (slackadapter down).
func (s *Server) Stop() { s.grpc.Stop() }

// SetScript replaces the script (nil: Unimplemented); safe while calls are
// served.
func (s *Server) SetScript(sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = sc
}

// Calls returns the calls served so far, oldest first.
func (s *Server) Calls() []Call {
	return s.calls.All()
}

// LastCall returns the newest call of method (a short name such as
// "HandleEvent"), and false if there was none.
func (s *Server) LastCall(method string) (Call, bool) {
	return s.calls.Last(func(c Call) bool { return c.Method == method })
}

// record notes the call and returns it with the script to answer it.
func (s *Server) record(ctx context.Context, method string, req proto.Message) (*Call, Script) {
	c := grpctest.CallOf(ctx, method, req)
	s.calls.Add(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	return &c, s.script
}

// answer records a call and answers it with the script, checking that the
// script answered the method's response type.
func answer[T proto.Message](ctx context.Context, s *Server, method string, req proto.Message) (T, error) {
	var zero T
	c, sc := s.record(ctx, method, req)
	if sc == nil {
		return zero, status.Errorf(codes.Unimplemented, "slackadaptertest: script %s", method)
	}
	m, err := sc(c)
	if err != nil {
		return zero, err
	}
	out, ok := m.(T)
	if !ok {
		return zero, status.Errorf(codes.Internal, "slackadaptertest: the script answered %s with %T, want %T", method, m, zero)
	}
	return out, nil
}

// operatorID is the platform operator's mTLS identity (the CLI).
var operatorID = pki.ServiceID(permissions.CLI)

// operator admits only the platform operator, as slackadapter's handlers
// do: the Slack app is deployment configuration, whatever the edge relays.
func operator(ctx context.Context) error {
	if id, err := mtls.PeerID(ctx); err == nil && id.String() == operatorID {
		return nil
	}
	return status.Error(codes.PermissionDenied, "the Slack app is deployment configuration set by the platform operator")
}

// ConfigureApp implements SlackAdapterService: the operator's app
// configuration is stored (its client id, and Options.Now as its time).
func (s *Server) ConfigureApp(ctx context.Context, r *slackadapterv1.ConfigureAppRequest) (*slackadapterv1.ConfigureAppResponse, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	s.record(ctx, "ConfigureApp", r)
	at := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appClient, s.appAt = r.GetClientId(), at
	return &slackadapterv1.ConfigureAppResponse{ClientId: r.GetClientId(), UpdatedAt: at.Unix()}, nil
}

// GetApp implements SlackAdapterService: the stored app, FailedPrecondition
// before any ConfigureApp.
func (s *Server) GetApp(ctx context.Context, r *slackadapterv1.GetAppRequest) (*slackadapterv1.GetAppResponse, error) {
	if err := operator(ctx); err != nil {
		return nil, err
	}
	s.record(ctx, "GetApp", r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appClient == "" {
		return nil, status.Error(codes.FailedPrecondition, "no Slack app is configured")
	}
	return &slackadapterv1.GetAppResponse{ClientId: s.appClient, UpdatedAt: s.appAt.Unix()}, nil
}

// HandleEvent implements SlackAdapterService with the script.
func (s *Server) HandleEvent(ctx context.Context, r *slackadapterv1.HandleEventRequest) (*slackadapterv1.HandleEventResponse, error) {
	return answer[*slackadapterv1.HandleEventResponse](ctx, s, "HandleEvent", r)
}

// GetInstallUrl implements SlackAdapterService with the script.
func (s *Server) GetInstallUrl(ctx context.Context, r *slackadapterv1.GetInstallUrlRequest) (*slackadapterv1.GetInstallUrlResponse, error) {
	return answer[*slackadapterv1.GetInstallUrlResponse](ctx, s, "GetInstallUrl", r)
}

// ListInstallations implements SlackAdapterService with the script.
func (s *Server) ListInstallations(ctx context.Context, r *slackadapterv1.ListInstallationsRequest) (*slackadapterv1.ListInstallationsResponse, error) {
	return answer[*slackadapterv1.ListInstallationsResponse](ctx, s, "ListInstallations", r)
}

// SetBinding implements SlackAdapterService with the script.
func (s *Server) SetBinding(ctx context.Context, r *slackadapterv1.SetBindingRequest) (*slackadapterv1.SetBindingResponse, error) {
	return answer[*slackadapterv1.SetBindingResponse](ctx, s, "SetBinding", r)
}

// ListBindings implements SlackAdapterService with the script.
func (s *Server) ListBindings(ctx context.Context, r *slackadapterv1.ListBindingsRequest) (*slackadapterv1.ListBindingsResponse, error) {
	return answer[*slackadapterv1.ListBindingsResponse](ctx, s, "ListBindings", r)
}

// DeleteBinding implements SlackAdapterService with the script.
func (s *Server) DeleteBinding(ctx context.Context, r *slackadapterv1.DeleteBindingRequest) (*slackadapterv1.DeleteBindingResponse, error) {
	return answer[*slackadapterv1.DeleteBindingResponse](ctx, s, "DeleteBinding", r)
}
