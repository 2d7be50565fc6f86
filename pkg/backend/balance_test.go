package backend_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

// Which methods are retried comes from the protos' idempotency_level.
func TestIdempotentMethodsComeFromTheProtos(t *testing.T) {
	// The gen packages must be linked for their descriptors to register.
	_ = authv1.File_rampart_auth_v1_auth_proto
	_ = keyvaultv1.File_rampart_keyvault_v1_keyvault_proto
	_ = ingestionv1.File_rampart_ingestion_v1_ingestion_proto
	retried := map[string]bool{}
	for _, m := range backend.IdempotentMethods() {
		retried[m] = true
	}
	for _, tc := range []struct {
		method string
		want   bool
	}{
		{"rampart.keyvault.v1.SecretsService/GetSecretValue", true},
		{"rampart.keyvault.v1.SecretsService/DescribeSecret", true},
		{"rampart.keyvault.v1.SecretsService/PutSecretValue", false},
		{"rampart.keyvault.v1.SecretsService/RotateSecret", false},
		{"rampart.auth.v1.AuthService/VerifyKey", true},
		{"rampart.auth.v1.AuthService/Bootstrap", false},
		{"rampart.ingestion.v1.IngestionService/GetJob", true},
		{"rampart.ingestion.v1.IngestionService/IngestDocument", false},
	} {
		t.Run(tc.method, func(t *testing.T) { require.Equal(t, tc.want, retried[tc.method]) })
	}
}

// replica is one ingestion server: it names itself in Search answers,
// fails GetJob with UNAVAILABLE while failGets > 0 and always fails
// IngestDocument, counting attempts.
type replica struct {
	ingestionv1.UnimplementedIngestionServiceServer
	name     string
	failGets atomic.Int32
	gets     atomic.Int32
	ingests  atomic.Int32
}

func (r *replica) Search(context.Context, *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	return &ingestionv1.SearchResponse{Passages: []*ingestionv1.Passage{{Text: r.name}}}, nil
}

func (r *replica) GetJob(context.Context, *ingestionv1.GetJobRequest) (*ingestionv1.GetJobResponse, error) {
	r.gets.Add(1)
	if r.failGets.Add(-1) >= 0 {
		return nil, status.Error(codes.Unavailable, "going away")
	}
	return &ingestionv1.GetJobResponse{Job: &ingestionv1.Job{Id: r.name}}, nil
}

func (r *replica) IngestDocument(context.Context, *ingestionv1.IngestDocumentRequest) (*ingestionv1.IngestDocumentResponse, error) {
	r.ingests.Add(1)
	return nil, status.Error(codes.Unavailable, "going away")
}

func startReplicas(t *testing.T, names ...string) (dialer *backend.Dialer, addrs []string, reps []*replica, healths []*health.Server) {
	t.Helper()
	dir, _ := pkitest.NewDir(t, "ingestion", "inference")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "ingestion"))
	require.NoError(t, err)
	for _, n := range names {
		srv := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
		r := &replica{name: n}
		ingestionv1.RegisterIngestionServiceServer(srv, r)
		h := health.NewServer()
		healthpb.RegisterHealthServer(srv, h)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		addrs, reps, healths = append(addrs, lis.Addr().String()), append(reps, r), append(healths, h)
	}
	cli, err := mtls.NewSource(mtls.FilesFor(dir, "inference"))
	require.NoError(t, err)
	return &backend.Dialer{TLS: cli}, addrs, reps, healths
}

func TestDialerBalancesOverAListAndSkipsUnhealthyReplicas(t *testing.T) {
	d, addrs, _, healths := startReplicas(t, "a", "b")
	conn, err := d.Dial(context.Background(), "ingestion", addrs[0]+","+addrs[1])
	require.NoError(t, err)
	defer conn.Close()
	c := ingestionv1.NewIngestionServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	answered := func(n int) map[string]int {
		seen := map[string]int{}
		for range n {
			r, err := c.Search(ctx, &ingestionv1.SearchRequest{}, grpc.WaitForReady(true))
			require.NoError(t, err)
			seen[r.GetPassages()[0].GetText()]++
		}
		return seen
	}
	// Both subchannels connect in the background: wait for round robin
	// over both, then every run of 20 alternates.
	require.Eventually(t, func() bool { return len(answered(10)) == 2 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, map[string]int{"a": 10, "b": 10}, answered(20))

	// A replica that says NOT_SERVING (draining) gets no new calls.
	healths[0].SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	require.Eventually(t, func() bool { return answered(10)["a"] == 0 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, map[string]int{"b": 20}, answered(20))
}

func TestDialerRetriesOnlyIdempotentMethods(t *testing.T) {
	d, addrs, reps, _ := startReplicas(t, "only")
	conn, err := d.Dial(context.Background(), "ingestion", addrs[0])
	require.NoError(t, err)
	defer conn.Close()
	c := ingestionv1.NewIngestionServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	reps[0].failGets.Store(1)
	res, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{}, grpc.WaitForReady(true))
	require.NoError(t, err, "GetJob is NO_SIDE_EFFECTS: retried after UNAVAILABLE")
	require.Equal(t, "only", res.GetJob().GetId())
	require.EqualValues(t, 2, reps[0].gets.Load())

	_, err = c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{}, grpc.WaitForReady(true))
	require.Equal(t, codes.Unavailable, status.Code(err), "a write is not retried here")
	require.EqualValues(t, 1, reps[0].ingests.Load())
}

// Several dialers at once share the one computed service config.
func TestServiceConfigIsSafeToBuildConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { require.NotEmpty(t, backend.IdempotentMethods()) })
	}
	wg.Wait()
}
