package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// narrowKey is a call context of acme's key "key-narrow" with scopes and
// allowedModels and limits of its own (tokens per minute, budget and its
// counter's key, a rate pool of the key it was minted from), and the
// KeyLimits inference must be sent for it (ADR 0106, ADR 0111 §4).
func narrowKey(t *testing.T, h *harness, scopes, allowedModels []string) (context.Context, *inferencev1.KeyLimits) {
	t.Helper()
	narrow := &authv1.Principal{TenantId: "acme", Subject: "dev-acme", KeyId: "key-narrow", Scopes: scopes,
		AllowedModels: allowedModels, BudgetKeyId: "key-origin",
		TokensPools: []*authv1.RatePool{{KeyId: "key-minter", PerMinute: 500}},
		Limits:      &authv1.Limits{TokensPerMinute: 100, MonthlyTokenBudget: 1000, TenantTokensPerMinute: 5000}}
	tok, err := h.Signer.Sign(narrow, time.Time{})
	require.NoError(t, err)
	want := &inferencev1.KeyLimits{TokensPerMinute: 100, MonthlyTokenBudget: 1000, BudgetKeyId: "key-origin",
		TokensPools: []*inferencev1.TokensPool{{KeyId: "key-minter", TokensPerMinute: 500}}}
	return principal.AppendToOutgoing(context.Background(), tok), want
}

// spentKeyLimit is inference's refusal of the narrow key's spent tokens
// per minute.
var spentKeyLimit = inferencetest.APIError{Code: codes.ResourceExhausted, OpenAICode: "rate_limit_exceeded", Type: "tokens",
	Message:    "Rate limit reached for tokens per minute (TPM) on this API key: limit 100. Please try again in 1.5s.",
	RetryAfter: 1500 * time.Millisecond}

// requireSpentKeyLimit checks that err is spentKeyLimit passed on as the
// call's answer: ResourceExhausted with its message, reason and retry
// delay (the edge's 429 naming the limit, with Retry-After).
func requireSpentKeyLimit(t *testing.T, err error, name string) {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code(), "%s: %v", name, err)
	require.Equal(t, spentKeyLimit.Message, st.Message(), name)
	var reason string
	var retry time.Duration
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration()
		}
	}
	require.Equal(t, "rate_limit_exceeded", reason, name)
	require.Equal(t, spentKeyLimit.RetryAfter, retry, name)
}
