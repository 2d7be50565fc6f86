package inference

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
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
// prompt in the store — the migration of rows from before sealing, done on
// a call on the tenant's behalf because only such a call may unwrap the
// tenant's key (ADR 0065).
func (s *Service) openPrompt(ctx context.Context, a *Assistant) error {
	if len(a.SealedPrompt) > 0 {
		if s.Keys == nil {
			return fmt.Errorf("assistant %q: its system prompt is sealed and this server has no keyvault: %w", a.Name, grpcerr.ErrFailedPrecondition)
		}
		p, err := s.Keys.OpenAssistantPrompt(ctx, a.Tenant, a.Name, a.SealedPrompt)
		if err != nil {
			return err
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
