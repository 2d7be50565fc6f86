package inference

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// OwnedByAssistant is the owned_by of tenant assistants in /v1/models.
const OwnedByAssistant = "rampart-assistant"

// ListModels lists the models the caller may use: the registry's and the
// tenant's assistants (only the caller's tenant's).
func (s *Service) ListModels(ctx context.Context, c *Caller) ([]registry.Entry, error) {
	out := s.Registry.List(c.Tenant, c.AllowedModels)
	as, err := s.Assistants(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		m, err := s.Registry.Resolve(c.Tenant, nil, a.Model)
		if err != nil {
			continue // the tenant lost access to the model
		}
		if len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, a.Name) && !slices.Contains(c.AllowedModels, m.ID) {
			continue
		}
		out = append(out, registry.Entry{ID: a.Name, OwnedBy: OwnedByAssistant, Created: a.Created.Unix()})
	}
	slices.SortFunc(out, func(a, b registry.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// GetModel returns one model the caller may use. A model the key may not
// use is NotFound here too: listing is about visibility.
func (s *Service) GetModel(ctx context.Context, c *Caller, name string) (registry.Entry, error) {
	if name == "" {
		return registry.Entry{}, apierr.Invalid("model", "model is required")
	}
	all, err := s.ListModels(ctx, c)
	if err != nil {
		return registry.Entry{}, err
	}
	for _, e := range all {
		if e.ID == name {
			return e, nil
		}
	}
	return registry.Entry{}, apierr.ModelNotFound(name)
}

// UsageReport is grouped usage of the caller's tenant.
type UsageReport struct {
	From, To time.Time
	GroupBy  string
	Buckets  []store.Bucket
	Total    store.Bucket
}

// Usage sums the caller's tenant's usage in [from, to). from/to accept RFC
// 3339 or YYYY-MM-DD; a date "to" includes that whole day.
func (s *Service) Usage(ctx context.Context, c *Caller, fromS, toS, groupBy string) (*UsageReport, error) {
	now := s.now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := now.Add(time.Millisecond)
	var err error
	if fromS != "" {
		if from, err = parseTime(fromS, false); err != nil {
			return nil, apierr.Invalid("from", "from must be an RFC 3339 time or a YYYY-MM-DD date")
		}
	}
	if toS != "" {
		if to, err = parseTime(toS, true); err != nil {
			return nil, apierr.Invalid("to", "to must be an RFC 3339 time or a YYYY-MM-DD date")
		}
	}
	if !from.Before(to) {
		return nil, apierr.Invalid("from", "from must be before to")
	}
	if groupBy == "" {
		groupBy = store.ByModel
	}
	switch groupBy {
	case store.ByKey, store.ByModel, store.ByDay:
	default:
		return nil, apierr.Invalid("group_by", "group_by must be key, model or day")
	}
	if s.Store == nil {
		return nil, apierr.Unavailable("Usage recording is not configured.", 0)
	}
	if s.Recorder != nil {
		if err := s.Recorder.Flush(ctx); err != nil {
			return nil, err
		}
	}
	buckets, err := s.Store.Usage(ctx, c.Tenant, from, to, groupBy)
	if err != nil {
		return nil, err
	}
	r := &UsageReport{From: from, To: to, GroupBy: groupBy, Buckets: buckets}
	for _, b := range buckets {
		r.Total.Requests += b.Requests
		r.Total.PromptTokens += b.PromptTokens
		r.Total.CompletionTokens += b.CompletionTokens
		r.Total.CostMicroUSD += b.CostMicroUSD
	}
	return r, nil
}

func parseTime(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
