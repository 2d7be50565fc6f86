package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// series returns every "family{label=value,...}" series keyvault exports.
func (h *harness) series(t *testing.T) []string {
	t.Helper()
	fams, err := h.reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var b strings.Builder
			b.WriteString(f.GetName() + "{")
			for _, l := range m.GetLabel() {
				b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
			}
			out = append(out, b.String()+"}")
		}
	}
	return out
}

// Issue 10, item 8: metric labels never carry caller-supplied names. A
// lookup of another tenant's name, of a name that does not exist or of a
// service's secret creates no series, and no label holds a name or tenant.
func TestMetricsNoCallerNames(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	const own = "/dev/billing/metrics-canary/primary"
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: own, SecretString: "v"})
	require.NoError(t, err)
	_, err = h.as(t, "slackadapter").secrets.CreateSecret(h.ctx(t, "t1"), &keyvaultv1.CreateSecretRequest{Name: "/dev/slackadapter/bot-token/TMETRICS", SecretString: "v"})
	require.NoError(t, err)
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: own})
	require.NoError(t, err)
	before := h.series(t)

	slack := h.as(t, "slackadapter").secrets
	probes := []struct {
		desc string
		c    keyvaultv1.SecretsServiceClient
		ctx  context.Context
		name string
		code codes.Code
	}{
		{"another tenant's name", c, h.ctx(t, "t2", "admin"), own, codes.NotFound},
		{"a name that does not exist", c, ctx, "/dev/probe-one/metrics-canary/x1", codes.NotFound},
		{"another one", c, ctx, "/dev/probe-two/metrics-canary/x2", codes.NotFound},
		{"a service's nonexistent name", slack, h.ctx(t, "t1"), "/dev/slackadapter/bot-token/metrics-canary", codes.NotFound},
		{"a service's secret, read by its owner", slack, h.ctx(t, "t1"), "/dev/slackadapter/bot-token/TMETRICS", codes.OK},
	}
	for _, p := range probes {
		_, err := p.c.GetSecretValue(p.ctx, &keyvaultv1.GetSecretValueRequest{Name: p.name})
		require.Equal(t, p.code, status.Code(err), "%s: %v", p.desc, err)
	}
	after := h.series(t)
	require.ElementsMatch(t, before, after, "lookups created new series")
	for _, s := range after {
		require.NotContains(t, s, "metrics-canary")
		require.NotContains(t, s, "TMETRICS")
		require.NotContains(t, s, "=t1,")
		require.NotContains(t, s, "=t2,")
	}
	require.Contains(t, after, "keyvault_secret_access_total{action=read,owner=slackadapter,result=not_found,}")
}
