package middleware

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Sampling says which successful requests the access log keeps: a busy
// edge writes hundreds of bytes per request (ADR 0033), mostly for chat
// completions and health probes that all look alike. A request answered
// with a status of 400 or more is always logged, whatever the rates, and
// the metrics always count every request. The zero value (and nil) logs
// every request.
type Sampling struct {
	set    bool
	rate   float64
	routes map[string]float64
}

// ParseSampling builds a Sampling from a default rate (the fraction of
// successful requests logged, 0 to 1) and "route=rate" overrides, a route
// being the access log's route class ("/v1/chat", "/healthz", "/slack",
// "other", …).
func ParseSampling(rate float64, routes []string) (Sampling, error) {
	if rate < 0 || rate > 1 {
		return Sampling{}, fmt.Errorf("rate must be between 0 and 1, got %v", rate)
	}
	s := Sampling{set: true, rate: rate}
	for _, r := range routes {
		route, v, ok := strings.Cut(strings.TrimSpace(r), "=")
		if !ok || route == "" {
			return Sampling{}, fmt.Errorf("%q is not route=rate", r)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return Sampling{}, fmt.Errorf("%q: the rate must be a number between 0 and 1", r)
		}
		if s.routes == nil {
			s.routes = map[string]float64{}
		}
		s.routes[route] = f
	}
	return s, nil
}

// rate is the fraction of route's successful requests logged.
func (s *Sampling) rateFor(route string) float64 {
	if s == nil || !s.set {
		return 1
	}
	if r, ok := s.routes[route]; ok {
		return r
	}
	return s.rate
}

// keep decides whether a request's line is written, and at which rate it
// was sampled (logged with the line when below 1, so counts taken from
// the log can be scaled back).
func (s *Sampling) keep(route string, status int) (bool, float64) {
	if status >= 400 {
		return true, 1
	}
	r := s.rateFor(route)
	switch {
	case r >= 1:
		return true, 1
	case r <= 0:
		return false, 0
	default:
		return rand.Float64() < r, r //nolint:gosec // sampling, not security
	}
}
