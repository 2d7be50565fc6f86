package inference

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Embeddings computes embeddings, as floats or base64 of little-endian float32.
func (s *Service) Embeddings(ctx context.Context, c *Caller, body []byte) (*Output, error) {
	start := s.now()
	req, err := wire.ParseEmbeddings(body)
	if err != nil {
		return nil, err
	}
	m, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, req.Model)
	if err != nil {
		return nil, err
	}
	if m.Kind != registry.KindEmbedding {
		return nil, apierr.Invalid("model", "The model `%s` is not an embedding model.", req.Model)
	}
	dims := 0
	if req.Dimensions != nil {
		if m.MaxDimensions == 0 {
			return nil, apierr.Invalid("dimensions", "The model `%s` does not support the dimensions parameter.", req.Model)
		}
		if *req.Dimensions > m.MaxDimensions {
			return nil, apierr.Invalid("dimensions", "dimensions must be at most %d for `%s`.", m.MaxDimensions, req.Model)
		}
		dims = *req.Dimensions
	}
	res, prompt, st, err := s.embed(ctx, c, m, req.Input, dims)
	if err != nil {
		return nil, err
	}
	out := wire.EmbeddingList{Object: "list", Model: m.ID, Data: make([]wire.Embedding, len(res.Vectors)),
		Usage: wire.EmbedUsage{PromptTokens: prompt, TotalTokens: prompt}}
	for i, v := range res.Vectors {
		e := wire.Embedding{Object: "embedding", Index: i}
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			e.Embedding = base64.StdEncoding.EncodeToString(buf)
		} else {
			e.Embedding = v
		}
		out.Data[i] = e
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode embeddings: %w", err)
	}
	s.finish(ctx, c, m, "embeddings", store.Record{PromptTokens: int64(prompt), Estimated: !res.Usage.Reported}, start)
	return &Output{Body: b, Headers: rateHeaders(st)}, nil
}

// embed checks the caller's quota and calls m's upstream; prompt is the
// upstream's token count, or the estimate when it reports none.
func (s *Service) embed(ctx context.Context, c *Caller, m *registry.Model, inputs []string, dims int) (*provider.EmbedResult, int, quota.Status, error) {
	st, err := s.Quota.Check(ctx, c.subject(), c.Limits)
	if err != nil {
		s.Metrics.limited(m.ID, err)
		return nil, 0, st, err
	}
	res, prompt, err := s.embedUpstream(ctx, c, m, inputs, dims)
	return res, prompt, st, err
}

// embedUpstream calls m's upstream, after the quota check.
func (s *Service) embedUpstream(ctx context.Context, c *Caller, m *registry.Model, inputs []string, dims int) (*provider.EmbedResult, int, error) {
	res, err := s.Providers[m.Upstream].Embed(ctx, &provider.EmbedCall{UpstreamModel: m.UpstreamModel, Inputs: inputs, Dimensions: dims})
	if err != nil {
		s.Metrics.failed(m.ID, "embeddings", err)
		return nil, 0, s.providerErr(ctx, c, m, err)
	}
	if len(res.Vectors) != len(inputs) {
		s.Metrics.failed(m.ID, "embeddings", errVectorCount)
		return nil, 0, s.providerErr(ctx, c, m, errVectorCount)
	}
	prompt := res.Usage.PromptTokens
	if !res.Usage.Reported {
		prompt = 0
		for _, in := range inputs {
			prompt += provider.EstimateTokens(in)
		}
	}
	return res, prompt, nil
}

var errVectorCount = errors.New("upstream returned a different number of vectors than inputs")

// MaxTenantEmbedInputs bounds one EmbedForTenant batch.
const MaxTenantEmbedInputs = 256

// NoteTenantLimits remembers the tenant-wide limits and model ceiling of
// a verified principal, so that EmbedForTenant (which carries no
// principal) holds background jobs to them as well as to auth's stored
// ones. Key-level limits do not apply to a tenant's jobs. The entry lives
// SeenLimitsTTL after the tenant's last call; an unchanged one is put
// again only once half of that has passed, so a chat call costs one
// lookup.
func (s *Service) NoteTenantLimits(c *Caller) {
	if c == nil || c.Tenant == "" {
		return
	}
	tpm, budget := c.Limits.TenantTPM, c.Limits.TenantBudget
	now := s.now()
	if prev, ok := s.seenCache.Get(c.Tenant, now); ok && prev.tpm == tpm && prev.budget == budget &&
		slices.Equal(prev.models, c.TenantAllowedModels) && prev.until.Sub(now) > SeenLimitsTTL/2 {
		return
	}
	until := now.Add(SeenLimitsTTL)
	s.seenCache.Put(c.Tenant, seenLimits{tpm: tpm, budget: budget, models: slices.Clone(c.TenantAllowedModels), until: until}, until)
}

// TenantEmbedding is EmbedForTenant's result.
type TenantEmbedding struct {
	Vectors      [][]float32
	Model        string
	PromptTokens int64
}

// ErrTenantLimitsUnknown refuses a tenant's job when neither this replica
// nor the caller has seen the tenant's limits on a verified principal: run
// unlimited, it would escape the tenant's TPM and budget (ADR 0095). It is
// Unavailable, not FailedPrecondition: the condition passes with the
// tenant's next call on this replica, and every ingestion (also one from
// before ADR 0095, which sends no limits) retries Unavailable and makes the
// job wait instead of failing it for good.
var ErrTenantLimitsUnknown = fmt.Errorf("%w: the tenant's limits are not known here yet: no call of the tenant was seen and none were sent; retry later",
	grpcerr.ErrUnavailable)

// stricter is the lower of two limits where 0 means none.
func stricter(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// KeyLimits are the calling key's own limits carried with a query embedded
// while the key's verified principal waits (ADR 0106): only the key
// fields (KeyTPM, KeyBudget, BudgetKey, Pools) are read.
type KeyLimits = quota.Limits

// withKey is job limits l with the key's own limits of k added, so that
// one quota check and one charge cover the key, its pools and the tenant
// as on a chat call.
func withKey(l quota.Limits, k *KeyLimits) quota.Limits {
	if k == nil {
		return l
	}
	l.KeyTPM, l.KeyBudget, l.BudgetKey = k.KeyTPM, k.KeyBudget, k.BudgetKey
	l.Pools, l.NPools = k.Pools, k.NPools
	return l
}

// upstreamLimited is the upstream's own rate limit as EmbedForTenant
// answers it: Unavailable (the caller retries, a search falls back to
// keywords), so that ResourceExhausted from EmbedForTenant means only
// that one of Rampart's limits is spent, which a search answers as is
// (ADR 0106).
func upstreamLimited(err error) error {
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindRateLimited {
		return apierr.Unavailable(e.Message, e.RetryAfter)
	}
	return err
}

// TenantEmbedCall is one EmbedForTenant call.
type TenantEmbedCall struct {
	Tenant, Key, Model string
	Inputs             []string
	// Carried are the tenant-wide limits the caller sent (nil: none).
	Carried *quota.Limits
	// KeyLimits are the key's own limits (nil: a background job, charged
	// to the tenant only).
	KeyLimits *KeyLimits
	RequestID string
}

// EmbedForTenant embeds inputs for a background job of tenant, or a query
// of a key's search (the caller, ingestion, is trusted to name only
// tenants whose jobs it accepted from a verified principal, and a search's
// key and its limits from the principal it verified). The model must be an
// embedding model the tenant may use, not necessarily one of the key's
// (ADR 0106: a narrow chat key searches a collection an admin embedded);
// usage is recorded for the tenant (and key, when named) and counted
// against the tenant-wide limits auth stores, narrowed by those seen on its
// principals and carried (jobLimits), and the key's own when carried. The
// model must be within the tenant's model ceiling, auth's and the one seen
// on its principals.
func (s *Service) EmbedForTenant(ctx context.Context, call TenantEmbedCall) (*TenantEmbedding, error) {
	start := s.now()
	tenant, model, inputs := call.Tenant, call.Model, call.Inputs
	switch {
	case model == "":
		return nil, apierr.Invalid("model", "model is required.")
	case len(inputs) == 0:
		return nil, apierr.Invalid("input", "input must not be empty.")
	case len(inputs) > MaxTenantEmbedInputs:
		return nil, apierr.Invalid("input", "input must have at most %d items.", MaxTenantEmbedInputs)
	case call.KeyLimits != nil && call.Key == "":
		return nil, apierr.Invalid("key_id", "key_id is required with key_limits.")
	}
	bounds, err := s.jobLimits(ctx, tenant, call.Carried)
	if err != nil {
		return nil, err
	}
	c := &Caller{Tenant: tenant, Key: call.Key, Limits: withKey(bounds.limits, call.KeyLimits), RequestID: call.RequestID}
	m, err := s.Registry.Resolve(tenant, nil, model)
	if err != nil {
		return nil, err
	}
	if m.Kind != registry.KindEmbedding {
		return nil, apierr.Invalid("model", "The model `%s` is not an embedding model.", model)
	}
	// The tenant's model ceiling as auth stores it (and as seen on its
	// principals), not only the registry's view: a compromised ingestion
	// names no model the platform or the tenant's owners took off its list
	// (ADR 0111 §1).
	if !bounds.allows(model, m.ID) {
		return nil, errTenantModelNotAllowed(model)
	}
	if _, err := s.Quota.Check(ctx, c.subject(), c.Limits); err != nil {
		s.Metrics.limited(m.ID, err)
		return nil, err
	}
	res, prompt, err := s.embedUpstream(ctx, c, m, inputs, 0)
	if err != nil {
		return nil, upstreamLimited(err)
	}
	s.finish(ctx, c, m, "embeddings", store.Record{PromptTokens: int64(prompt), Estimated: !res.Usage.Reported}, start)
	return &TenantEmbedding{Vectors: res.Vectors, Model: m.ID, PromptTokens: int64(prompt)}, nil
}
