package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/tokenizer"
)

// Kind of model.
const (
	KindChat      = "chat"
	KindEmbedding = "embedding"
)

// Model is one registered model.
type Model struct {
	// ID is the name clients use.
	ID string `json:"id"`
	// Kind is "chat" (default) or "embedding".
	Kind string `json:"kind,omitempty"`
	// Upstream names the provider instance: "local" or a key of File.Upstreams.
	Upstream string `json:"upstream"`
	// UpstreamModel is the provider's name for it (default: ID).
	UpstreamModel string `json:"upstream_model,omitempty"`
	// OwnedBy is shown in /v1/models (default: the upstream name).
	OwnedBy string `json:"owned_by,omitempty"`
	// Created is shown in /v1/models (Unix seconds); DefaultCreated when
	// unset, never the time the registry was built, so it does not change
	// at every restart or reload (ADR 0117).
	Created int64 `json:"created,omitempty"`
	// InputUSDPerMTok and OutputUSDPerMTok price a million tokens.
	InputUSDPerMTok  float64 `json:"input_usd_per_mtok,omitempty"`
	OutputUSDPerMTok float64 `json:"output_usd_per_mtok,omitempty"`
	// Fallback is a model id tried when this one's upstream is unavailable,
	// rate limited or times out before producing output.
	Fallback string `json:"fallback,omitempty"`
	// MaxDimensions bounds the embeddings dimensions parameter (0 = fixed).
	MaxDimensions int `json:"max_dimensions,omitempty"`
	// Tokenizer counts tokens when the provider reports no usage:
	// "cl100k_base" or "o200k_base" (tiktoken), "estimate" (4 bytes per
	// token), or "" to pick tiktoken's encoding for OpenAI-compatible
	// upstream models it knows and the estimate otherwise.
	Tokenizer string `json:"tokenizer,omitempty"`
	// ResponsesAPI says how /v1/responses reaches a chat model of an
	// OpenAI-compatible upstream: "translate" (the default) maps it to one
	// chat completion; "native" forwards it to the upstream's own
	// /responses (the upstream must serve the Responses API); "auto" is
	// native when the upstream is OpenAI's API (base_url host
	// api.openai.com) and translate otherwise. Local and Bedrock models
	// always translate (ADR 0040).
	ResponsesAPI string `json:"responses_api,omitempty"`

	// native: /v1/responses is forwarded to the upstream's /responses
	// (ResponsesAPI resolved by New).
	native bool
}

// DefaultCreated is the `created` of a model whose registry entry sets
// none: 2024-01-01T00:00:00Z, a fixed value rather than the start time, so
// clients that cache or sort /v1/models see no churn across restarts and
// reloads (ADR 0117). A registry file records no registration time; set
// `created` on the model to show a real one.
const DefaultCreated int64 = 1704067200

// Values of Model.ResponsesAPI.
const (
	ResponsesTranslate = "translate"
	ResponsesNative    = "native"
	ResponsesAuto      = "auto"
)

// NativeResponses reports whether /v1/responses requests for m go to the
// upstream's own Responses API rather than through chat.
func (m *Model) NativeResponses() bool { return m.native }

// CostMicroUSD prices a request in micro-USD, rounded up.
func (m *Model) CostMicroUSD(prompt, completion int) int64 {
	// USD per MTok == micro-USD per token.
	c := float64(prompt)*m.InputUSDPerMTok + float64(completion)*m.OutputUSDPerMTok
	n := int64(c)
	if float64(n) < c {
		n++
	}
	return n
}

// Upstream configures one provider instance.
type Upstream struct {
	// Type is "openai" or "bedrock".
	Type string `json:"type"`
	// BaseURL of an OpenAI-compatible API (openai) or an endpoint override (bedrock).
	BaseURL string `json:"base_url,omitempty"`
	// APIKeyEnv names an environment variable holding the API key.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// APIKeyFile names a file holding the API key (e.g. a mounted secret).
	APIKeyFile string `json:"api_key_file,omitempty"`
	// APIKeySecret names a keyvault secret holding the API key, e.g.
	// "/prod/inference/api-key/openai". It is read through pkg/secrets'
	// cache (so a rotated value is picked up within the cache TTL, or at
	// once after the upstream rejects the old one) with the caller's
	// principal: each tenant's own secret of that name is used.
	APIKeySecret string `json:"api_key_secret,omitempty"`
	// APIKeySecretField, when set, reads the key from this field of a JSON
	// secret value (e.g. "api_key" of {"api_key":"sk-..."}).
	APIKeySecretField string `json:"api_key_secret_field,omitempty"`
	// Region for bedrock.
	Region string `json:"region,omitempty"`
	// Timeout of one upstream attempt, e.g. "60s".
	Timeout string `json:"timeout,omitempty"`
	// MaxRetries on 429/5xx.
	MaxRetries int `json:"max_retries,omitempty"`
}

// TimeoutDuration parses Timeout (0 when unset).
func (u Upstream) TimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(u.Timeout)
	return d
}

// APIKey reads the key from the file or the environment ("" when neither is set).
func (u Upstream) APIKey() (string, error) {
	if u.APIKeyFile != "" {
		b, err := os.ReadFile(u.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("read api key file: %w", err)
		}
		return string(trimSpace(b)), nil
	}
	if u.APIKeyEnv != "" {
		return os.Getenv(u.APIKeyEnv), nil
	}
	return "", nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// check validates an upstream's credential settings.
func (u Upstream) check() error {
	n := 0
	for _, v := range []string{u.APIKeyEnv, u.APIKeyFile, u.APIKeySecret} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("set at most one of api_key_env, api_key_file and api_key_secret")
	}
	if u.APIKeySecret != "" && (!strings.HasPrefix(u.APIKeySecret, "/") || len(u.APIKeySecret) > 512) {
		return fmt.Errorf("api_key_secret %q must be a keyvault name like /{env}/inference/api-key/{name}", u.APIKeySecret)
	}
	if u.APIKeySecretField != "" && u.APIKeySecret == "" {
		return errors.New("api_key_secret_field needs api_key_secret")
	}
	if u.APIKeySecret != "" && u.Type != "openai" {
		return errors.New("api_key_secret applies to openai upstreams")
	}
	return nil
}

// Tenant is a tenant's model policy.
type Tenant struct {
	// AllowedModels lists model ids; "*" allows all.
	AllowedModels []string `json:"allowed_models"`
	// Aliases maps a tenant-specific name to a model id.
	Aliases map[string]string `json:"aliases,omitempty"`
	// PromptLogging stores the tenant's chat requests and responses,
	// encrypted with its data key from keyvault (internal/promptlog). Off
	// by default.
	PromptLogging bool `json:"prompt_logging,omitempty"`
	// PromptLogRetentionDays is how many days the tenant's prompt logs are
	// kept before the retention sweeper deletes them; 0 uses the service
	// setting RAMPART_INFERENCE_PROMPT_LOG_RETENTION.
	PromptLogRetentionDays int `json:"prompt_log_retention_days,omitempty"`
}

// maxPromptLogRetentionDays bounds a tenant's prompt-log retention (ten
// years): the limit exists so a typo cannot mean "forever".
const maxPromptLogRetentionDays = 3650

// File is the registry file.
type File struct {
	Upstreams map[string]Upstream `json:"upstreams,omitempty"`
	Models    []Model             `json:"models"`
	// Tenants by tenant id.
	Tenants map[string]Tenant `json:"tenants,omitempty"`
	// Default applies to tenants not in Tenants (default: all models).
	Default *Tenant `json:"default,omitempty"`
}

// Default returns the built-in registry: the local models for everyone.
func Default() *File {
	return &File{
		Models: []Model{
			{ID: "rampart-extractive", Upstream: "local", OwnedBy: "rampart"},
			{ID: "echo", Upstream: "local", OwnedBy: "rampart"},
			{ID: "rampart-hash-embed", Kind: KindEmbedding, Upstream: "local", OwnedBy: "rampart", MaxDimensions: 4096},
		},
		Default: &Tenant{AllowedModels: []string{"*"}},
	}
}

// Load reads a registry file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return &f, nil
}

// Registry answers model questions.
type Registry struct {
	models  map[string]*Model
	order   []string
	tenants map[string]*Tenant
	def     *Tenant
	// anyNative: some model forwards /v1/responses to its upstream.
	anyNative bool
}

// New validates f and builds a registry.
func New(f *File) (*Registry, error) {
	r := &Registry{models: map[string]*Model{}, tenants: map[string]*Tenant{}}
	for name, u := range f.Upstreams {
		if err := u.check(); err != nil {
			return nil, fmt.Errorf("registry: upstream %q: %w", name, err)
		}
	}
	for i := range f.Models {
		m := f.Models[i]
		if m.ID == "" {
			return nil, fmt.Errorf("registry: models[%d]: id is required", i)
		}
		if _, dup := r.models[m.ID]; dup {
			return nil, fmt.Errorf("registry: model %q defined twice", m.ID)
		}
		if m.Kind == "" {
			m.Kind = KindChat
		}
		if m.Kind != KindChat && m.Kind != KindEmbedding {
			return nil, fmt.Errorf("registry: model %q: kind must be chat or embedding", m.ID)
		}
		if m.Upstream == "" {
			return nil, fmt.Errorf("registry: model %q: upstream is required", m.ID)
		}
		if err := tokenizer.Check(m.Tokenizer); err != nil {
			return nil, fmt.Errorf("registry: model %q: %w", m.ID, err)
		}
		if _, ok := f.Upstreams[m.Upstream]; !ok && m.Upstream != "local" {
			return nil, fmt.Errorf("registry: model %q: unknown upstream %q", m.ID, m.Upstream)
		}
		if m.UpstreamModel == "" {
			m.UpstreamModel = m.ID
		}
		native, err := nativeResponses(&m, f.Upstreams[m.Upstream])
		if err != nil {
			return nil, fmt.Errorf("registry: model %q: %w", m.ID, err)
		}
		m.native = native
		r.anyNative = r.anyNative || native
		if m.OwnedBy == "" {
			m.OwnedBy = m.Upstream
		}
		if m.Created == 0 {
			m.Created = DefaultCreated
		}
		r.models[m.ID] = &m
		r.order = append(r.order, m.ID)
	}
	for _, m := range r.models {
		if m.Fallback != "" {
			fb, ok := r.models[m.Fallback]
			if !ok || fb.Kind != m.Kind || fb.ID == m.ID {
				return nil, fmt.Errorf("registry: model %q: fallback %q must be another model of the same kind", m.ID, m.Fallback)
			}
		}
	}
	for id, t := range f.Tenants {
		if err := r.checkTenant(t); err != nil {
			return nil, fmt.Errorf("registry: tenant %q: %w", id, err)
		}
		r.tenants[id] = &t
	}
	if f.Default != nil {
		if err := r.checkTenant(*f.Default); err != nil {
			return nil, fmt.Errorf("registry: default: %w", err)
		}
		r.def = f.Default
	} else {
		r.def = &Tenant{AllowedModels: []string{"*"}}
	}
	sort.Strings(r.order)
	return r, nil
}

// nativeResponses resolves m.ResponsesAPI against its upstream u.
func nativeResponses(m *Model, u Upstream) (bool, error) {
	switch m.ResponsesAPI {
	case "", ResponsesTranslate:
		return false, nil
	case ResponsesNative, ResponsesAuto:
	default:
		return false, fmt.Errorf("responses_api must be translate, native or auto, got %q", m.ResponsesAPI)
	}
	if m.Kind != KindChat || m.Upstream == "local" || u.Type != "openai" {
		return false, fmt.Errorf("responses_api %q applies to chat models of openai upstreams", m.ResponsesAPI)
	}
	if m.ResponsesAPI == ResponsesNative {
		return true, nil
	}
	uu, err := url.Parse(u.BaseURL)
	return err == nil && uu.Hostname() == "api.openai.com", nil
}

func (r *Registry) checkTenant(t Tenant) error {
	if t.PromptLogRetentionDays < 0 || t.PromptLogRetentionDays > maxPromptLogRetentionDays {
		return fmt.Errorf("prompt_log_retention_days must be between 0 (service default) and %d, got %d", maxPromptLogRetentionDays, t.PromptLogRetentionDays)
	}
	for _, m := range t.AllowedModels {
		if _, ok := r.models[m]; !ok && m != "*" {
			return fmt.Errorf("allowed model %q is not registered", m)
		}
	}
	for a, m := range t.Aliases {
		if _, ok := r.models[m]; !ok {
			return fmt.Errorf("alias %q names unregistered model %q", a, m)
		}
		if _, ok := r.models[a]; ok {
			return errors.New("alias " + a + " shadows a registered model")
		}
	}
	return nil
}

func (r *Registry) tenant(id string) *Tenant {
	if t, ok := r.tenants[id]; ok {
		return t
	}
	return r.def
}

func (t *Tenant) allows(id string) bool {
	return slices.Contains(t.AllowedModels, "*") || slices.Contains(t.AllowedModels, id)
}

// Model returns a registered model by id, ignoring tenant policy (fallbacks).
func (r *Registry) Model(id string) (*Model, bool) {
	m, ok := r.models[id]
	return m, ok
}

// Resolve maps a requested name to a model the tenant's key may use.
// keyAllowed is the principal's allowed_models (empty = all the tenant allows).
func (r *Registry) Resolve(tenant string, keyAllowed []string, name string) (*Model, error) {
	t := r.tenant(tenant)
	id := name
	if target, ok := t.Aliases[name]; ok {
		id = target
	}
	m, ok := r.models[id]
	if !ok || !t.allows(id) {
		return nil, apierr.ModelNotFound(name)
	}
	if len(keyAllowed) > 0 && !slices.Contains(keyAllowed, name) && !slices.Contains(keyAllowed, id) {
		return nil, apierr.ModelNotAllowed(name)
	}
	return m, nil
}

// Entry is one model as a caller sees it (aliases included).
type Entry struct {
	ID      string
	OwnedBy string
	Created int64
}

// List returns the models the tenant's key may use, sorted by id.
func (r *Registry) List(tenant string, keyAllowed []string) []Entry {
	t := r.tenant(tenant)
	var out []Entry
	for _, id := range r.order {
		m := r.models[id]
		if t.allows(id) && (len(keyAllowed) == 0 || slices.Contains(keyAllowed, id)) {
			out = append(out, Entry{ID: id, OwnedBy: m.OwnedBy, Created: m.Created})
		}
	}
	for a, id := range t.Aliases {
		m := r.models[id]
		if t.allows(id) && (len(keyAllowed) == 0 || slices.Contains(keyAllowed, a) || slices.Contains(keyAllowed, id)) {
			out = append(out, Entry{ID: a, OwnedBy: m.OwnedBy, Created: m.Created})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PromptLogging reports whether the tenant has prompt logging on.
func (r *Registry) PromptLogging(tenant string) bool { return r.tenant(tenant).PromptLogging }

// PromptLogRetention returns the tenant's prompt-log retention, or def
// when its registry entry (or the default entry) does not set one.
func (r *Registry) PromptLogRetention(tenant string, def time.Duration) time.Duration {
	if d := r.tenant(tenant).PromptLogRetentionDays; d > 0 {
		return time.Duration(d) * 24 * time.Hour
	}
	return def
}

// AnyPromptLogging reports whether some tenant (or the default) has prompt
// logging on.
func (r *Registry) AnyPromptLogging() bool {
	if r.def.PromptLogging {
		return true
	}
	for _, t := range r.tenants {
		if t.PromptLogging {
			return true
		}
	}
	return false
}

// AnyNativeResponses reports whether some model forwards /v1/responses to
// its upstream (when none does, a Responses request needs no check).
func (r *Registry) AnyNativeResponses() bool { return r.anyNative }

// Upstreams returns the upstream names models refer to.
func (r *Registry) Upstreams() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range r.models {
		if !seen[m.Upstream] {
			seen[m.Upstream] = true
			out = append(out, m.Upstream)
		}
	}
	sort.Strings(out)
	return out
}
