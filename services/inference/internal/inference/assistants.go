package inference

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Assistant limits.
const (
	MaxSystemPrompt        = 32 << 10
	MaxAssistantDesc       = 1024
	MaxAssistantsPerTenant = 100
)

// Assistant is a tenant-defined model name (store.Assistant).
type Assistant = store.Assistant

var assistantName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CreateAssistant validates and stores a for the caller's tenant.
func (s *Service) CreateAssistant(ctx context.Context, c *Caller, a Assistant) (Assistant, error) {
	if s.Store == nil {
		return Assistant{}, fmt.Errorf("assistants need the store: %w", grpcerr.ErrUnavailable)
	}
	a.Tenant = c.Tenant
	if err := s.checkAssistant(c, &a); err != nil {
		return Assistant{}, err
	}
	// The collections must exist now, in the caller's tenant (ingestion
	// answers for the forwarded principal's tenant only), so a typo fails
	// here naming the field rather than at every chat. A chat still checks
	// (Retrieve's 404): a collection can be deleted later.
	params := make([]string, len(a.Collections))
	for i := range a.Collections {
		params[i] = fmt.Sprintf("assistant.collections[%d]", i)
	}
	if err := s.Retriever.CheckCollections(ctx, a.Collections, params); err != nil {
		return Assistant{}, err
	}
	existing, err := s.Store.Assistants(ctx, c.Tenant)
	if err != nil {
		return Assistant{}, err
	}
	if len(existing) >= MaxAssistantsPerTenant {
		return Assistant{}, fmt.Errorf("the tenant has %d assistants, the most allowed: %w", MaxAssistantsPerTenant, grpcerr.ErrResourceExhausted)
	}
	a.Created = s.now().UTC().Truncate(1e6)
	row := a
	if a.SystemPrompt != "" {
		if s.Keys == nil {
			return Assistant{}, fmt.Errorf("assistant.system_prompt: a system prompt is sealed with the tenant's data key and this server has no keyvault: %w", grpcerr.ErrFailedPrecondition)
		}
		sealed, err := s.Keys.SealAssistantPrompt(ctx, a.Tenant, a.Name, a.SystemPrompt)
		if err != nil {
			return Assistant{}, err
		}
		row.SystemPrompt, row.SealedPrompt = "", sealed
	}
	if err := s.Store.CreateAssistant(ctx, row); err != nil {
		if errors.Is(err, store.ErrExists) {
			return Assistant{}, fmt.Errorf("assistant %q: %w", a.Name, grpcerr.ErrAlreadyExists)
		}
		return Assistant{}, err
	}
	return a, nil
}

func (s *Service) checkAssistant(c *Caller, a *Assistant) error {
	switch {
	case !assistantName.MatchString(a.Name):
		return grpcerr.Invalid("assistant.name", "must be 1-64 of a-z 0-9 . _ -, starting alphanumeric")
	case s.shadows(c.Tenant, a.Name):
		return grpcerr.Invalidf("assistant.name", "%q is already a model name", a.Name)
	case a.Model == "":
		return grpcerr.Invalid("assistant.model", "is required")
	case len(a.Collections) > wire.MaxCollections:
		return grpcerr.Invalidf("assistant.collections", "at most %d collections", wire.MaxCollections)
	case len(a.SystemPrompt) > MaxSystemPrompt:
		return grpcerr.Invalidf("assistant.system_prompt", "must be at most %d bytes", MaxSystemPrompt)
	case a.TopK < 0 || a.TopK > wire.MaxTopK:
		return grpcerr.Invalidf("assistant.top_k", "must be between 1 and %d (0: the default, %d)", wire.MaxTopK, wire.DefaultTopK)
	case a.MinScore < 0 || a.MinScore > 1e6:
		return grpcerr.Invalid("assistant.min_score", "must be between 0 and 1000000")
	case len(a.Description) > MaxAssistantDesc:
		return grpcerr.Invalidf("assistant.description", "must be at most %d bytes", MaxAssistantDesc)
	}
	m, err := s.Registry.Resolve(c.Tenant, nil, a.Model)
	if err != nil || m.Kind != registry.KindChat {
		return grpcerr.Invalidf("assistant.model", "%q is not a chat model this tenant may use", a.Model)
	}
	// Every key that may name the assistant runs its model: its creator
	// may only choose one her own key may use (authorization review 6; the
	// tenant's ceiling is in c.AllowedModels too).
	if len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, a.Model) && !slices.Contains(c.AllowedModels, m.ID) {
		e := apierr.ModelNotAllowed(a.Model)
		e.Param = "assistant.model"
		e.Message += " An assistant runs its model for every key allowed to name it, so it may only be created on a model the creating key may use."
		return e
	}
	seen := map[string]bool{}
	for i, col := range a.Collections {
		if !wire.CollectionName(col) || seen[col] {
			return grpcerr.Invalidf(fmt.Sprintf("assistant.collections[%d]", i), "%q is not a collection name or is listed twice", col)
		}
		seen[col] = true
	}
	return nil
}

// shadows reports whether name is a registry model or alias the tenant
// sees: a registry model always wins, so such an assistant could not be used.
func (s *Service) shadows(tenant, name string) bool {
	if _, ok := s.Registry.Model(name); ok {
		return true
	}
	_, err := s.Registry.Resolve(tenant, nil, name)
	return err == nil
}

// Assistants lists the caller's tenant's assistants.
func (s *Service) Assistants(ctx context.Context, c *Caller) ([]Assistant, error) {
	if s.Store == nil {
		return nil, nil
	}
	as, err := s.Store.Assistants(ctx, c.Tenant)
	if err != nil {
		return nil, err
	}
	for i := range as {
		if err := s.openPrompt(ctx, &as[i]); err != nil {
			return nil, err
		}
	}
	return as, nil
}

// openPrompt puts a stored assistant's system prompt in a.SystemPrompt in
// plaintext: it opens a sealed one with the tenant's data key (which fails
// once the tenant is crypto-shredded), and seals a legacy row's plaintext
// prompt in the store — the migration of rows from before sealing (ADR
// 0065) for a row the eager sweep (SealLegacyPrompts, ADR 0077) has not
// reached yet.
func (s *Service) openPrompt(ctx context.Context, a *Assistant) error {
	if len(a.SealedPrompt) > 0 {
		if s.Keys == nil {
			return fmt.Errorf("assistant %q: its system prompt is sealed and this server has no keyvault: %w", a.Name, grpcerr.ErrFailedPrecondition)
		}
		p, err := s.Keys.OpenAssistantPrompt(ctx, a.Tenant, a.Name, a.SealedPrompt)
		if err != nil {
			return err
		}
		if promptlog.PromptSealedForTenant(a.SealedPrompt) {
			// Sealed by the eager migration with a key of its own (ADR
			// 0077): re-seal with the tenant's data key, which later reads
			// find cached, instead of one keyvault Decrypt per read.
			resealed, err := s.Keys.SealAssistantPrompt(ctx, a.Tenant, a.Name, p)
			if err != nil {
				return err
			}
			if _, err := s.Store.ResealAssistantPrompt(ctx, a.Tenant, a.Name, a.SealedPrompt, resealed); err != nil {
				return err
			}
		}
		a.SystemPrompt, a.SealedPrompt = p, nil
		return nil
	}
	if a.SystemPrompt == "" || s.Keys == nil {
		return nil
	}
	sealed, err := s.Keys.SealAssistantPrompt(ctx, a.Tenant, a.Name, a.SystemPrompt)
	if err != nil {
		return err
	}
	if _, err := s.Store.SealAssistantPrompt(ctx, a.Tenant, a.Name, a.SystemPrompt, sealed); err != nil {
		return err
	}
	return nil
}

// GetAssistant returns one of the caller's tenant's assistants.
func (s *Service) GetAssistant(ctx context.Context, c *Caller, name string) (Assistant, error) {
	if name == "" {
		return Assistant{}, grpcerr.Invalid("name", "is required")
	}
	if s.Store == nil {
		return Assistant{}, fmt.Errorf("assistant %q: %w", name, grpcerr.ErrNotFound)
	}
	a, err := s.Store.Assistant(ctx, c.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return Assistant{}, fmt.Errorf("assistant %q: %w", name, grpcerr.ErrNotFound)
	}
	if err != nil {
		return Assistant{}, err
	}
	if err := s.openPrompt(ctx, &a); err != nil {
		return Assistant{}, err
	}
	return a, nil
}

// DeleteAssistant deletes one of the caller's tenant's assistants.
func (s *Service) DeleteAssistant(ctx context.Context, c *Caller, name string) error {
	if name == "" {
		return grpcerr.Invalid("name", "is required")
	}
	if s.Store == nil {
		return fmt.Errorf("assistant %q: %w", name, grpcerr.ErrNotFound)
	}
	err := s.Store.DeleteAssistant(ctx, c.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("assistant %q: %w", name, grpcerr.ErrNotFound)
	}
	return err
}

// assistant returns the caller's assistant called name, if the tenant has
// one and the key may use it (its allowed_models names the assistant or
// its model). nil, nil when there is none.
func (s *Service) assistant(ctx context.Context, c *Caller, name string) (*Assistant, *registry.Model, error) {
	if s.Store == nil || !assistantName.MatchString(name) {
		return nil, nil, nil
	}
	a, err := s.Store.Assistant(ctx, c.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Registry.Resolve(c.Tenant, nil, a.Model)
	if err != nil {
		// The tenant lost access to the model: the assistant cannot run.
		return nil, nil, apierr.ModelNotFound(name)
	}
	if len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, a.Name) && !slices.Contains(c.AllowedModels, m.ID) {
		return nil, nil, apierr.ModelNotAllowed(name)
	}
	// The platform's ceiling binds the assistant's own model: a ceiling
	// naming the assistant would otherwise let the tenant's admins point it
	// at any model (ADR 0078 §2).
	if t := c.TenantAllowedModels; len(t) > 0 && !slices.Contains(t, a.Model) && !slices.Contains(t, m.ID) {
		return nil, nil, apierr.ModelNotAllowed(name)
	}
	if err := s.openPrompt(ctx, &a); err != nil {
		return nil, nil, err
	}
	return &a, m, nil
}

// assistantRetrieval merges the request's own rampart extension over the
// assistant's settings.
func assistantRetrieval(a *Assistant, req *wire.ChatRequest) *retrieval {
	r := requestRetrieval(req)
	if r == nil {
		if len(a.Collections) == 0 {
			return nil
		}
		r = &retrieval{collections: a.Collections, topK: wire.DefaultTopK}
		for range a.Collections {
			r.params = append(r.params, "model") // the assistant's collection
		}
		if a.TopK > 0 {
			r.topK = a.TopK
		}
		r.minScore = a.MinScore
		return r
	}
	if req.Rampart.TopK == nil && a.TopK > 0 {
		r.topK = a.TopK
	}
	if req.Rampart.MinScore == nil {
		r.minScore = a.MinScore
	}
	return r
}

// withSystemPrompt returns req with the assistant's system prompt first.
func withSystemPrompt(a *Assistant, req *wire.ChatRequest) *wire.ChatRequest {
	if a.SystemPrompt == "" {
		return req
	}
	c := *req
	c.Messages = append([]wire.Message{{Role: "system", Content: wire.Content{Text: a.SystemPrompt, Set: true}}}, req.Messages...)
	return &c
}

// LegacySweep counts what one SealLegacyPrompts pass did.
type LegacySweep struct {
	// Sealed legacy prompts (version-2 seals); Erased those of tenants
	// keyvault had crypto-shredded (tombstones); Skipped rows keyvault
	// refused otherwise (named in the returned error's log) or that changed
	// meanwhile.
	Sealed, Erased, Skipped int
}

// legacyBatch is how many rows one store read of the sweep returns.
const legacyBatch = 100

// SealLegacyPrompts seals every assistant's system prompt still stored in
// plaintext, without a call of its tenant (ADR 0077): w (keyvault's
// encrypt-only WrapForTenant) makes a fresh data key of the tenant, the
// prompt is sealed with it as a version-2 seal carrying its wrapped key,
// and the row is updated only if it still holds that plaintext and nothing
// sealed (idempotent; several replicas may sweep at once, one wins each
// row). A tenant keyvault has crypto-shredded gets no key: its plaintext
// is replaced by the shredded tombstone, as unreadable as its sealed data.
// keyvault being unavailable ends the pass with the error (the next pass
// resumes); another refusal of one row skips it.
func (s *Service) SealLegacyPrompts(ctx context.Context, w promptlog.Wrapper) (LegacySweep, error) {
	var sw LegacySweep
	var failures []error
	if s.Store == nil || w == nil {
		return sw, nil
	}
	afterTenant, afterName := "", ""
	for {
		rows, err := s.Store.LegacyPrompts(ctx, afterTenant, afterName, legacyBatch)
		if err != nil {
			return sw, err
		}
		for _, r := range rows {
			afterTenant, afterName = r.Tenant, r.Name
			if err := s.sealLegacy(ctx, w, r, &sw); err != nil {
				if code := grpcerr.Code(err); code == codes.Unavailable || code == codes.DeadlineExceeded || ctx.Err() != nil {
					return sw, err
				}
				sw.Skipped++
				failures = append(failures, err)
			}
		}
		if len(rows) < legacyBatch {
			return sw, errors.Join(failures...)
		}
	}
}

// sealLegacy seals (or, for a shredded tenant, erases) one legacy prompt.
func (s *Service) sealLegacy(ctx context.Context, w promptlog.Wrapper, r store.LegacyPrompt, sw *LegacySweep) error {
	sealed, err := promptlog.SealPromptForTenant(ctx, w, r.Tenant, r.Name, r.SystemPrompt)
	erase := grpcerr.Code(err) == codes.FailedPrecondition
	switch {
	case erase:
		sealed = promptlog.ShreddedPrompt()
	case err != nil:
		return fmt.Errorf("tenant %s: %w", r.Tenant, err)
	}
	changed, err := s.Store.SealAssistantPrompt(ctx, r.Tenant, r.Name, r.SystemPrompt, sealed)
	switch {
	case err != nil:
		return err
	case !changed: // deleted, recreated or sealed meanwhile
		sw.Skipped++
	case erase:
		sw.Erased++
	default:
		sw.Sealed++
	}
	return nil
}
