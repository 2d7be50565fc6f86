package permissions_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

func TestCheckPolicy(t *testing.T) {
	tbl := permissions.Default()
	const good = `{"rules": [
	 {"methods": ["/grpc.health.v1.Health/*"], "callers": ["*"]},
	 {"methods": ["/rampart.ingestion.v1.IngestionService/*"], "callers": ["spiffe://rampart.local/svc/edge"]},
	 {"methods": ["/rampart.ingestion.v1.IngestionService/Search", "/rampart.ingestion.v1.IngestionService/ListCollections"], "callers": ["spiffe://rampart.local/svc/inference"]},
	 {"methods": ["/rampart.ingestion.v1.IngestionService/ListCollections"], "callers": ["spiffe://rampart.local/svc/slackadapter"]}
	]}`
	require.NoError(t, tbl.CheckPolicy([]byte(good), "rampart.ingestion.v1.IngestionService"))

	tests := []struct {
		name, policy, want string
	}{
		{"caller missing", `{"rules": [{"methods": ["/rampart.ingestion.v1.IngestionService/*"], "callers": ["spiffe://rampart.local/svc/edge"]}]}`,
			"IngestionService/Search: policy allows"},
		{"extra caller", `{"rules": [
		 {"methods": ["/rampart.ingestion.v1.IngestionService/*"], "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/inference"]}]}`,
			"IngestionService/ListJobs: policy allows"},
		{"method not in table", `{"rules": [
		 {"methods": ["/rampart.ingestion.v1.IngestionService/*"], "callers": ["spiffe://rampart.local/svc/edge"]},
		 {"methods": ["/rampart.ingestion.v1.IngestionService/Search", "/rampart.ingestion.v1.IngestionService/ListCollections", "/rampart.ingestion.v1.IngestionService/Reindex"], "callers": ["spiffe://rampart.local/svc/inference"]},
		 {"methods": ["/rampart.ingestion.v1.IngestionService/ListCollections"], "callers": ["spiffe://rampart.local/svc/slackadapter"]}]}`,
			"Reindex, which the permission table does not list"},
		{"foreign service", `{"rules": [
		 {"methods": ["/rampart.ingestion.v1.IngestionService/*"], "callers": ["spiffe://rampart.local/svc/edge"]},
		 {"methods": ["/rampart.ingestion.v1.IngestionService/Search", "/rampart.ingestion.v1.IngestionService/ListCollections", "/rampart.auth.v1.KeyService/GetKey"], "callers": ["spiffe://rampart.local/svc/inference"]},
		 {"methods": ["/rampart.ingestion.v1.IngestionService/ListCollections"], "callers": ["spiffe://rampart.local/svc/slackadapter"]}]}`,
			"not a service this check covers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tbl.CheckPolicy([]byte(tt.policy), "rampart.ingestion.v1.IngestionService")
			require.ErrorContains(t, err, tt.want)
		})
	}
	require.ErrorContains(t, tbl.CheckPolicy([]byte(good), "rampart.ingestion.v1.IngestionService", "rampart.nope.v1.S"),
		"has no RPC in the permission table")
}
