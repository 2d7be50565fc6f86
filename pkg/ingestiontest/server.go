package ingestiontest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Call is one call as served: the method ("Search", "WatchJob", ...), its caller, its
// verified principal (nil on the methods that need none), request id and
// request.
type Call = grpctest.Call

// Script answers a call of a method other than Search: a unary method's
// response message (e.g. *ingestionv1.GetJobResponse for GetJob) or an
// error. For WatchJob it sends the stream's messages through send, at its
// own pace (a test can hold the next message until it has read one), and
// returns a nil message and the stream's end (nil or an error); send is
// nil for unary methods.
type Script func(c *Call, send func(*ingestionv1.WatchJobResponse) error) (proto.Message, error)

// Options configure Start.
type Options struct {
	// Keys verify the principal assertions of the methods that need one
	// (all of ingestion's).
	Keys principal.Keys
	// Callers, when set, are the only service identities admitted (names
	// of the test PKI, e.g. "inference"); others get PermissionDenied, as
	// from ingestion's allow-list. Empty admits whom the permission table
	// admits.
	Callers []string
	// Script answers every method but Search (nil: Unimplemented).
	Script Script
}

// Server is the running stand-in.
type Server struct {
	ingestionv1.UnimplementedIngestionServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string

	grpc  *grpc.Server
	calls grpctest.Log[Call]
	index index
}

// Start serves a stand-in with the "ingestion" certificate of certDir
// (pkitest.NewDir(t, "ingestion", "inference", ...)) until the test ends.
func Start(t testing.TB, certDir string, o Options) *Server {
	t.Helper()
	require.NotNil(t, o.Keys, "ingestiontest: Options.Keys verify the principal assertions")
	s := &Server{}
	s.index.docs = map[string][]doc{}
	s.index.script = o.Script
	s.grpc = grpctest.NewGuardedServer(t, certDir, "ingestion", ingestionv1.IngestionService_ServiceDesc.ServiceName, o.Keys, o.Callers...)
	ingestionv1.RegisterIngestionServiceServer(s.grpc, s)
	s.Addr = grpctest.Serve(t, s.grpc)
	return s
}

// Stop stops serving at once (ingestion down).
func (s *Server) Stop() { s.grpc.Stop() }

// SetScript replaces the script (nil: Unimplemented); safe while calls are
// served.
func (s *Server) SetScript(sc Script) {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	s.index.script = sc
}

// Calls returns the calls served so far, oldest first.
func (s *Server) Calls() []Call {
	return s.calls.All()
}

// LastCall returns the newest call of method (a short name such as
// "WatchJob"), and false if there was none.
func (s *Server) LastCall(method string) (Call, bool) {
	return s.calls.Last(func(c Call) bool { return c.Method == method })
}

// record notes the call and returns it with the script to answer it.
func (s *Server) record(ctx context.Context, method string, req proto.Message) (*Call, Script) {
	c := grpctest.CallOf(ctx, method, req)
	s.calls.Add(c)
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	return &c, s.index.script
}

// unary answers a scripted unary call; an answer of the wrong type is
// Internal (a test's mistake, said plainly).
func unary[R proto.Message](ctx context.Context, s *Server, method string, req proto.Message) (R, error) {
	var zero R
	c, sc := s.record(ctx, method, req)
	if sc == nil {
		return zero, status.Errorf(codes.Unimplemented, "ingestiontest: no Script for %s", method)
	}
	m, err := sc(c, nil)
	if err != nil {
		return zero, err
	}
	r, ok := m.(R)
	if !ok {
		return zero, status.Errorf(codes.Internal, "ingestiontest: the Script answered %s with %T", method, m)
	}
	return r, nil
}

// WatchJob implements IngestionService: the script sends the messages.
func (s *Server) WatchJob(r *ingestionv1.WatchJobRequest, st grpc.ServerStreamingServer[ingestionv1.WatchJobResponse]) error {
	c, sc := s.record(st.Context(), "WatchJob", r)
	if sc == nil {
		return status.Error(codes.Unimplemented, "ingestiontest: no Script for WatchJob")
	}
	_, err := sc(c, st.Send)
	return err
}

// CreateCollection implements IngestionService.
func (s *Server) CreateCollection(ctx context.Context, r *ingestionv1.CreateCollectionRequest) (*ingestionv1.CreateCollectionResponse, error) {
	return unary[*ingestionv1.CreateCollectionResponse](ctx, s, "CreateCollection", r)
}

// ListCollections implements IngestionService: the script's answer when
// there is a script, else the collections Add made for the verified
// principal's tenant, by name.
func (s *Server) ListCollections(ctx context.Context, r *ingestionv1.ListCollectionsRequest) (*ingestionv1.ListCollectionsResponse, error) {
	s.index.mu.Lock()
	scripted := s.index.script != nil
	s.index.mu.Unlock()
	if scripted {
		return unary[*ingestionv1.ListCollectionsResponse](ctx, s, "ListCollections", r)
	}
	s.record(ctx, "ListCollections", r)
	return s.collections(ctx)
}

// DeleteCollection implements IngestionService.
func (s *Server) DeleteCollection(ctx context.Context, r *ingestionv1.DeleteCollectionRequest) (*ingestionv1.DeleteCollectionResponse, error) {
	return unary[*ingestionv1.DeleteCollectionResponse](ctx, s, "DeleteCollection", r)
}

// UpdateCollection implements IngestionService.
func (s *Server) UpdateCollection(ctx context.Context, r *ingestionv1.UpdateCollectionRequest) (*ingestionv1.UpdateCollectionResponse, error) {
	return unary[*ingestionv1.UpdateCollectionResponse](ctx, s, "UpdateCollection", r)
}

// IngestDocument implements IngestionService.
func (s *Server) IngestDocument(ctx context.Context, r *ingestionv1.IngestDocumentRequest) (*ingestionv1.IngestDocumentResponse, error) {
	return unary[*ingestionv1.IngestDocumentResponse](ctx, s, "IngestDocument", r)
}

// CrawlDocuments implements IngestionService.
func (s *Server) CrawlDocuments(ctx context.Context, r *ingestionv1.CrawlDocumentsRequest) (*ingestionv1.CrawlDocumentsResponse, error) {
	return unary[*ingestionv1.CrawlDocumentsResponse](ctx, s, "CrawlDocuments", r)
}

// GetDocument implements IngestionService.
func (s *Server) GetDocument(ctx context.Context, r *ingestionv1.GetDocumentRequest) (*ingestionv1.GetDocumentResponse, error) {
	return unary[*ingestionv1.GetDocumentResponse](ctx, s, "GetDocument", r)
}

// ListDocuments implements IngestionService.
func (s *Server) ListDocuments(ctx context.Context, r *ingestionv1.ListDocumentsRequest) (*ingestionv1.ListDocumentsResponse, error) {
	return unary[*ingestionv1.ListDocumentsResponse](ctx, s, "ListDocuments", r)
}

// DeleteDocument implements IngestionService.
func (s *Server) DeleteDocument(ctx context.Context, r *ingestionv1.DeleteDocumentRequest) (*ingestionv1.DeleteDocumentResponse, error) {
	return unary[*ingestionv1.DeleteDocumentResponse](ctx, s, "DeleteDocument", r)
}

// GetJob implements IngestionService.
func (s *Server) GetJob(ctx context.Context, r *ingestionv1.GetJobRequest) (*ingestionv1.GetJobResponse, error) {
	return unary[*ingestionv1.GetJobResponse](ctx, s, "GetJob", r)
}

// ListJobs implements IngestionService.
func (s *Server) ListJobs(ctx context.Context, r *ingestionv1.ListJobsRequest) (*ingestionv1.ListJobsResponse, error) {
	return unary[*ingestionv1.ListJobsResponse](ctx, s, "ListJobs", r)
}

// CreateConnection implements IngestionService.
func (s *Server) CreateConnection(ctx context.Context, r *ingestionv1.CreateConnectionRequest) (*ingestionv1.CreateConnectionResponse, error) {
	return unary[*ingestionv1.CreateConnectionResponse](ctx, s, "CreateConnection", r)
}

// CompleteConnection implements IngestionService.
func (s *Server) CompleteConnection(ctx context.Context, r *ingestionv1.CompleteConnectionRequest) (*ingestionv1.CompleteConnectionResponse, error) {
	return unary[*ingestionv1.CompleteConnectionResponse](ctx, s, "CompleteConnection", r)
}

// ListConnections implements IngestionService.
func (s *Server) ListConnections(ctx context.Context, r *ingestionv1.ListConnectionsRequest) (*ingestionv1.ListConnectionsResponse, error) {
	return unary[*ingestionv1.ListConnectionsResponse](ctx, s, "ListConnections", r)
}

// DeleteConnection implements IngestionService.
func (s *Server) DeleteConnection(ctx context.Context, r *ingestionv1.DeleteConnectionRequest) (*ingestionv1.DeleteConnectionResponse, error) {
	return unary[*ingestionv1.DeleteConnectionResponse](ctx, s, "DeleteConnection", r)
}
