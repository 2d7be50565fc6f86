package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
)

// watchScript is ingestion's WatchJob as the test needs it: "job_1" is
// sent in two steps, the second only after the test has read the first
// through the edge (so the edge must flush each message); "job_invalid"
// and "job_boom" fail with a field violation and an internal detail; any
// other job is NotFound.
func watchScript(next <-chan struct{}) ingestiontest.Script {
	return func(c *ingestiontest.Call, send func(*ingestionv1.WatchJobResponse) error) (proto.Message, error) {
		r, ok := c.Request.(*ingestionv1.WatchJobRequest)
		if !ok {
			return nil, status.Errorf(codes.Unimplemented, "not scripted: %s", c.Method)
		}
		switch r.GetJobId() {
		case "job_1":
		case "job_invalid":
			st, err := status.New(codes.InvalidArgument, "job_id: is required").WithDetails(&errdetails.BadRequest{
				FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "job_id", Description: "is required"}},
			})
			if err != nil {
				return nil, err
			}
			return nil, st.Err()
		case "job_boom":
			return nil, status.Error(codes.Internal, "database at 10.0.0.7:5432 refused")
		default:
			return nil, status.Error(codes.NotFound, "job: not found")
		}
		if err := send(&ingestionv1.WatchJobResponse{Job: &ingestionv1.Job{Id: "job_1", State: ingestionv1.JobState_JOB_STATE_RUNNING, ChunksDone: 1, ChunksTotal: 2}}); err != nil {
			return nil, err
		}
		select {
		case <-next:
		case <-time.After(10 * time.Second):
			return nil, status.Error(codes.DeadlineExceeded, "the test did not read the first message")
		}
		return nil, send(&ingestionv1.WatchJobResponse{Job: &ingestionv1.Job{Id: "job_1", State: ingestionv1.JobState_JOB_STATE_SUCCEEDED, ChunksDone: 2, ChunksTotal: 2}})
	}
}

// TestWatchJobStreamsThroughTheEdge: GET /v1/ingest/jobs/{id}:watch is a
// stream route of the permission table: ingest:read is required, the
// principal is forwarded, each message reaches the client as it is sent
// (newline-delimited JSON), and a job the backend does not find is 404.
func TestWatchJobStreamsThroughTheEdge(t *testing.T) {
	// The edge forwards auth's assertion; the ingestion double verifies it
	// with auth's key and admits only the edge, over mTLS.
	fx := grpctest.NewFixture(t, "ingestion", "edge")
	next := make(chan struct{})
	ing := ingestiontest.Start(t, fx.Dir, ingestiontest.Options{Keys: fx.Keys(), Callers: []string{"edge"}, Script: watchScript(next)})
	conn := fx.Dial(t, "edge", ing.Addr, "ingestion")

	e := newEdge(t, edgeOpts{signer: fx.Signer, mount: func(mux *runtime.ServeMux) {
		require.NoError(t, ingestionv1.RegisterIngestionServiceHandlerClient(context.Background(), mux, ingestionv1.NewIngestionServiceClient(conn)))
	}})
	reader := e.auth.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"viewer"}, Scopes: []string{"ingest:read"}})
	chat := e.auth.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"chat:write"}})

	apiErr := readError(t, e.do(t, http.MethodGet, "/v1/ingest/jobs/job_1:watch", chat, nil), http.StatusForbidden)
	require.Equal(t, "insufficient_scope", apiErr.Error.Code)
	readError(t, e.do(t, http.MethodGet, "/v1/ingest/jobs/job_1:watch", "", nil), http.StatusUnauthorized)

	resp := e.do(t, http.MethodGet, "/v1/ingest/jobs/job_1:watch", reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	type line struct {
		Result struct {
			Job struct {
				State      string `json:"state"`
				ChunksDone int    `json:"chunks_done"`
			} `json:"job"`
		} `json:"result"`
	}
	var got []line
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line: %s", sc.Text())
		got = append(got, l)
		if len(got) == 1 {
			require.Equal(t, "JOB_STATE_RUNNING", l.Result.Job.State)
			close(next) // the first message arrived before the second was sent
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, got, 2)
	require.Equal(t, "JOB_STATE_SUCCEEDED", got[1].Result.Job.State)
	require.Equal(t, 2, got[1].Result.Job.ChunksDone)
	call, ok := ing.LastCall("WatchJob")
	require.True(t, ok)
	require.Equal(t, "t1", call.Principal.GetTenantId(), "the edge forwards the caller's principal")

	// A stream that fails before its first message is the edge's error,
	// like any route's: status, code, param, and no internal detail.
	apiErr = readError(t, e.do(t, http.MethodGet, "/v1/ingest/jobs/job_other:watch", reader, nil), http.StatusNotFound)
	require.Equal(t, "not_found", apiErr.Error.Code)
	require.Equal(t, "job: not found", apiErr.Error.Message)
	apiErr = readError(t, e.do(t, http.MethodGet, "/v1/ingest/jobs/job_invalid:watch", reader, nil), http.StatusBadRequest)
	require.NotNil(t, apiErr.Error.Param)
	require.Equal(t, "job_id", *apiErr.Error.Param)
	resp = e.do(t, http.MethodGet, "/v1/ingest/jobs/job_boom:watch", reader, nil, "X-Request-Id", "req-boom")
	apiErr = readError(t, resp, http.StatusInternalServerError)
	require.NotContains(t, apiErr.Error.Message, "10.0.0.7")
}
