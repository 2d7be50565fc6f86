package middleware

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSampling(t *testing.T) {
	tests := []struct {
		name   string
		rate   float64
		routes []string
		err    string
		want   map[string]float64 // route -> rate
	}{
		{name: "all", rate: 1, want: map[string]float64{"/v1/chat": 1}},
		{name: "route overrides", rate: 0.5, routes: []string{"/v1/chat=0.01", " /healthz=0 "},
			want: map[string]float64{"/v1/chat": 0.01, "/healthz": 0, "/v1/secrets": 0.5}},
		{name: "rate above 1", rate: 1.5, err: "between 0 and 1"},
		{name: "negative rate", rate: -0.1, err: "between 0 and 1"},
		{name: "no rate", rate: 1, routes: []string{"/v1/chat"}, err: "route=rate"},
		{name: "no route", rate: 1, routes: []string{"=0.5"}, err: "route=rate"},
		{name: "not a number", rate: 1, routes: []string{"/v1/chat=x"}, err: "between 0 and 1"},
		{name: "route rate above 1", rate: 1, routes: []string{"/v1/chat=2"}, err: "between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSampling(tt.rate, tt.routes)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			for route, want := range tt.want {
				require.InDelta(t, want, s.rateFor(route), 1e-9, route)
			}
		})
	}
}

// Errors are always logged; successes at their route's rate; nil and the
// zero value log everything.
func TestSamplingKeep(t *testing.T) {
	var unset *Sampling
	for _, s := range []*Sampling{unset, {}} {
		keep, rate := s.keep("/v1/chat", 200)
		require.True(t, keep)
		require.InDelta(t, 1.0, rate, 1e-9)
	}

	s, err := ParseSampling(0.5, []string{"/healthz=0", "/v1/keys=1"})
	require.NoError(t, err)
	for _, status := range []int{400, 401, 404, 429, 500, 503} {
		keep, _ := s.keep("/healthz", status)
		require.True(t, keep, "status %d must always be logged", status)
	}
	keep, _ := s.keep("/healthz", 200)
	require.False(t, keep)
	keep, rate := s.keep("/v1/keys", 201)
	require.True(t, keep)
	require.InDelta(t, 1.0, rate, 1e-9)

	// 4000 draws at 0.5: the kept count is within 10 standard deviations
	// (about 32 each) of 2000, so the test cannot flake.
	kept := 0
	for range 4000 {
		if k, r := s.keep("/v1/chat", 200); k {
			require.InDelta(t, 0.5, r, 1e-9)
			kept++
		}
	}
	require.InDelta(t, 2000, kept, 320)
}
