package ingest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestTenantViewFailsClosed (ADR 0095): a replica that has seen no call of
// the tenant neither runs its jobs' inference models unchecked (they wait:
// ErrUnavailable is retried) nor sends limits (inference then refuses
// unless it has seen the tenant's itself); once a call was seen, its
// model list and limits hold.
func TestTenantViewFailsClosed(t *testing.T) {
	limits := &inferencev1.TenantJobLimits{TokensPerMinute: 10, MonthlyTokenBudget: 100}
	tests := []struct {
		name       string
		note       bool
		models     []string
		model      string
		wantWait   bool
		wantFail   bool
		wantLimits *inferencev1.TenantJobLimits
	}{
		{name: "no call seen: waits", model: "semantic-embed", wantWait: true},
		{name: "no call seen: hash model needs no list", model: store.HashEmbedModel},
		{name: "allowed", note: true, models: []string{"semantic-embed"}, model: "semantic-embed", wantLimits: limits},
		{name: "every model", note: true, model: "semantic-embed", wantLimits: limits},
		{name: "not allowed", note: true, models: []string{"cheap-embed"}, model: "semantic-embed", wantFail: true, wantLimits: limits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{}
			if tc.note {
				s.NoteTenant("acme", tc.models, limits)
			}
			err := s.tenantMayUse("acme", tc.model)
			var f *failure
			require.Equal(t, tc.wantWait, errors.Is(err, embed.ErrUnavailable), err)
			require.Equal(t, tc.wantFail, errors.As(err, &f), err)
			require.Equal(t, !tc.wantWait && !tc.wantFail, err == nil, err)
			require.True(t, proto.Equal(tc.wantLimits, s.jobLimits("acme")))
		})
	}
}
