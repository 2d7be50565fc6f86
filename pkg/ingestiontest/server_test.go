package ingestiontest_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
)

type fixture struct {
	*grpctest.Fixture
	srv *ingestiontest.Server
}

func start(t *testing.T, o ingestiontest.Options) *fixture {
	t.Helper()
	fx := grpctest.NewFixture(t, "ingestion", "inference", "edge", "slackadapter")
	o.Keys = fx.Keys()
	return &fixture{Fixture: fx, srv: ingestiontest.Start(t, fx.Dir, o)}
}

func (f *fixture) client(t *testing.T, as string) ingestionv1.IngestionServiceClient {
	t.Helper()
	return ingestionv1.NewIngestionServiceClient(f.Dial(t, as, f.srv.Addr, "ingestion"))
}

// as is the tenant's member u@example.com calling, with request id req-1.
func (f *fixture) as(t *testing.T, tenant string) context.Context {
	t.Helper()
	return f.As(t, &authv1.Principal{TenantId: tenant, Subject: "u@example.com"}, "x-request-id", "req-1")
}

// TestSearchRanksTheTenantsPassages: passages sharing more of the query's
// words rank first; the tenant comes only from the principal, so another
// tenant's collection is NotFound; bad input is InvalidArgument; valid
// searches are recorded.
func TestSearchRanksTheTenantsPassages(t *testing.T) {
	f := start(t, ingestiontest.Options{})
	f.srv.Add("t1", "handbook",
		&ingestionv1.Passage{ChunkId: "a:0", Text: "VPN certificates rotate every 90 days."},
		&ingestionv1.Passage{ChunkId: "b:0", Text: "Lunch is served at noon."},
		&ingestionv1.Passage{ChunkId: "c:0", Text: "Certificates of the VPN: rotate them, rotate often."})
	f.srv.Add("t2", "secret", &ingestionv1.Passage{ChunkId: "x:0", Text: "Tenant two's certificates rotate every 7 days."})
	c := f.client(t, "inference")

	resp, err := c.Search(f.as(t, "t1"), &ingestionv1.SearchRequest{Collection: "handbook", Query: "How often do certificates rotate?", TopK: 4})
	require.NoError(t, err)
	var ids []string
	for _, p := range resp.GetPassages() {
		ids = append(ids, p.GetChunkId())
	}
	require.Equal(t, []string{"c:0", "a:0"}, ids)
	require.Greater(t, resp.GetPassages()[0].GetScore(), resp.GetPassages()[1].GetScore())

	_, err = c.Search(f.as(t, "t1"), &ingestionv1.SearchRequest{Collection: "secret", Query: "certificates"})
	require.Equal(t, codes.NotFound, status.Code(err))

	for _, r := range []*ingestionv1.SearchRequest{{Collection: "handbook", Query: "  "}, {Collection: "handbook", Query: "vpn", TopK: 51}} {
		_, err = c.Search(f.as(t, "t1"), r)
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	}

	f.srv.SetWarning("embedding model unavailable")
	resp, err = c.Search(f.as(t, "t1"), &ingestionv1.SearchRequest{Collection: "handbook", Query: "lunch"})
	require.NoError(t, err)
	require.Equal(t, "embedding model unavailable", resp.GetWarning())
	require.Len(t, resp.GetPassages(), 1)

	require.Equal(t, []ingestiontest.Search{
		{Tenant: "t1", Collection: "handbook", Query: "How often do certificates rotate?", TopK: 4},
		{Tenant: "t1", Collection: "secret", Query: "certificates"},
		{Tenant: "t1", Collection: "handbook", Query: "lunch"},
	}, f.srv.Searches())
	last, ok := f.srv.LastCall("Search")
	require.True(t, ok)
	require.Equal(t, "spiffe://rampart.local/svc/inference", last.Caller)
	require.Equal(t, "t1", last.Principal.GetTenantId())
	require.Equal(t, "req-1", last.RequestID)
}

// TestAdmissionAndPrincipal: callers the permission table does not list
// for a method, or not in Options.Callers, are PermissionDenied; a call
// without a principal assertion is Unauthenticated.
func TestAdmissionAndPrincipal(t *testing.T) {
	f := start(t, ingestiontest.Options{Callers: []string{"inference"}})
	_, err := f.client(t, "slackadapter").Search(f.as(t, "t1"), &ingestionv1.SearchRequest{Collection: "c", Query: "q"})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = f.client(t, "edge").ListCollections(f.as(t, "t1"), &ingestionv1.ListCollectionsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "edge is not in Options.Callers")
	_, err = f.client(t, "inference").Search(t.Context(), &ingestionv1.SearchRequest{Collection: "c", Query: "q"})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Empty(t, f.srv.Searches())
}

// TestScriptAnswersTheOtherMethods: a unary method gets the script's
// message, WatchJob the messages the script sends, in order; without a
// script they are Unimplemented.
func TestScriptAnswersTheOtherMethods(t *testing.T) {
	f := start(t, ingestiontest.Options{})
	c := f.client(t, "edge")
	_, err := c.GetJob(f.as(t, "t1"), &ingestionv1.GetJobRequest{JobId: "job_1"})
	require.Equal(t, codes.Unimplemented, status.Code(err))

	f.srv.SetScript(func(call *ingestiontest.Call, send func(*ingestionv1.WatchJobResponse) error) (proto.Message, error) {
		switch call.Method {
		case "GetJob":
			return &ingestionv1.GetJobResponse{Job: &ingestionv1.Job{Id: "job_1", State: ingestionv1.JobState_JOB_STATE_RUNNING}}, nil
		case "WatchJob":
			for i := int32(1); i <= 2; i++ {
				if err := send(&ingestionv1.WatchJobResponse{Job: &ingestionv1.Job{Id: "job_1", ChunksDone: i}}); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}
		return nil, status.Error(codes.NotFound, "job: not found")
	})
	got, err := c.GetJob(f.as(t, "t1"), &ingestionv1.GetJobRequest{JobId: "job_1"})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_RUNNING, got.GetJob().GetState())
	_, err = c.ListJobs(f.as(t, "t1"), &ingestionv1.ListJobsRequest{})
	require.Equal(t, codes.NotFound, status.Code(err))

	st, err := c.WatchJob(f.as(t, "t2"), &ingestionv1.WatchJobRequest{JobId: "job_1"})
	require.NoError(t, err)
	var done []int32
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		done = append(done, m.GetJob().GetChunksDone())
	}
	require.Equal(t, []int32{1, 2}, done)
	w, ok := f.srv.LastCall("WatchJob")
	require.True(t, ok)
	require.Equal(t, "t2", w.Principal.GetTenantId())
	req, ok := w.Request.(*ingestionv1.WatchJobRequest)
	require.True(t, ok)
	require.Equal(t, "job_1", req.GetJobId())
}

// TestListCollectionsIsTheTenants: without a script, ListCollections lists
// the collections Add made for the principal's tenant only; Remove deletes
// one.
func TestListCollectionsIsTheTenants(t *testing.T) {
	f := start(t, ingestiontest.Options{})
	f.srv.Add("t1", "handbook")
	f.srv.Add("t1", "archive")
	f.srv.Add("t1", "gone")
	f.srv.Add("t2", "secret")
	f.srv.Remove("t1", "gone")
	c := f.client(t, "inference")
	tests := []struct {
		tenant string
		want   []string
	}{
		{"t1", []string{"archive", "handbook"}},
		{"t2", []string{"secret"}},
		{"t3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			resp, err := c.ListCollections(f.as(t, tt.tenant), &ingestionv1.ListCollectionsRequest{})
			require.NoError(t, err)
			var names []string
			for _, col := range resp.GetCollections() {
				names = append(names, col.GetName())
			}
			require.Equal(t, tt.want, names)
		})
	}
	_, err := c.ListCollections(t.Context(), &ingestionv1.ListCollectionsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
}
