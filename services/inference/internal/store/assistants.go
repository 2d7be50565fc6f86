package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// ErrExists is returned when an assistant of that name exists in the tenant.
var ErrExists = errors.New("already exists")

// Assistant is one stored assistant.
type Assistant struct {
	Tenant, Name, Model string
	Collections         []string
	// SystemPrompt is the prompt in plaintext: what callers of the
	// service see. The store keeps it only in rows from before migration
	// 00006 (SealedPrompt nil); CreateAssistant stores what it is given, so
	// the service passes it empty with SealedPrompt set.
	SystemPrompt string
	// SealedPrompt is the system prompt sealed with the tenant's data key
	// (promptlog.Logger.SealAssistantPrompt); nil in a legacy row.
	SealedPrompt []byte
	TopK         int
	MinScore     float64
	Description  string
	Created      time.Time
}

const assistantCols = `tenant_id, name, model, collections, system_prompt, system_prompt_sealed, top_k, min_score, description, created_at_ms`

func scanAssistant(sc pstore.Scanner) (Assistant, error) {
	var a Assistant
	var cols string
	var ms int64
	if err := sc.Scan(&a.Tenant, &a.Name, &a.Model, &cols, &a.SystemPrompt, &a.SealedPrompt, &a.TopK, &a.MinScore, &a.Description, &ms); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(cols), &a.Collections); err != nil {
		return a, fmt.Errorf("assistant %q: collections: %w", a.Name, err)
	}
	a.Created = time.UnixMilli(ms).UTC()
	return a, nil
}

// CreateAssistant stores a; ErrExists when the tenant has one of that name.
func (s *Store) CreateAssistant(ctx context.Context, a Assistant) error {
	cols, err := json.Marshal(a.Collections)
	if err != nil {
		return err
	}
	if a.Collections == nil {
		cols = []byte("[]")
	}
	var sealed any // NULL when there is nothing sealed (no prompt)
	if len(a.SealedPrompt) > 0 {
		sealed = a.SealedPrompt
	}
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO assistants (`+assistantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, name) DO NOTHING`),
		a.Tenant, a.Name, a.Model, string(cols), a.SystemPrompt, sealed, a.TopK, a.MinScore, a.Description, a.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("assistants: insert: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrExists
	}
	return nil
}

// Assistant returns the tenant's assistant name; ErrNotFound otherwise
// (also when another tenant has one of that name).
func (s *Store) Assistant(ctx context.Context, tenant, name string) (Assistant, error) {
	a, err := scanAssistant(s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT `+assistantCols+` FROM assistants WHERE tenant_id = ? AND name = ?`), tenant, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("assistants: get: %w", err)
	}
	return a, nil
}

// Assistants lists the tenant's assistants by name.
func (s *Store) Assistants(ctx context.Context, tenant string) ([]Assistant, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`SELECT `+assistantCols+` FROM assistants WHERE tenant_id = ? ORDER BY name`), tenant)
	if err != nil {
		return nil, fmt.Errorf("assistants: list: %w", err)
	}
	return pstore.CollectRows(rows, scanAssistant)
}

// DeleteAssistant deletes the tenant's assistant name; ErrNotFound when it
// has none.
func (s *Store) DeleteAssistant(ctx context.Context, tenant, name string) error {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM assistants WHERE tenant_id = ? AND name = ?`), tenant, name)
	if err != nil {
		return fmt.Errorf("assistants: delete: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// SealAssistantPrompt replaces a legacy row's plaintext system prompt with
// its sealed form (the migration of rows from before 00006). It changes
// only a row that still holds exactly plaintext and nothing sealed, so a
// row deleted, recreated or sealed by another replica meanwhile is left
// alone; it reports whether it changed the row.
func (s *Store) SealAssistantPrompt(ctx context.Context, tenant, name, plaintext string, sealed []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE assistants SET system_prompt = '', system_prompt_sealed = ?
		WHERE tenant_id = ? AND name = ? AND system_prompt = ? AND system_prompt_sealed IS NULL`), sealed, tenant, name, plaintext)
	if err != nil {
		return false, fmt.Errorf("assistants: seal prompt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("assistants: seal prompt: %w", err)
	}
	return n == 1, nil
}

// LegacyPrompt is an assistant whose system prompt is still stored in
// plaintext (a row from before migration 00006).
type LegacyPrompt struct {
	Tenant, Name, SystemPrompt string
}

// LegacyPrompts lists up to limit assistants with a plaintext system prompt
// after the (tenant, name) position, in that order (the eager sealing's
// batches, ADR 0077).
func (s *Store) LegacyPrompts(ctx context.Context, afterTenant, afterName string, limit int) ([]LegacyPrompt, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`SELECT tenant_id, name, system_prompt FROM assistants
		WHERE system_prompt <> '' AND system_prompt_sealed IS NULL AND (tenant_id > ? OR (tenant_id = ? AND name > ?))
		ORDER BY tenant_id, name LIMIT ?`), afterTenant, afterTenant, afterName, limit)
	if err != nil {
		return nil, fmt.Errorf("assistants: legacy prompts: %w", err)
	}
	return pstore.CollectRows(rows, func(sc pstore.Scanner) (LegacyPrompt, error) {
		var p LegacyPrompt
		err := sc.Scan(&p.Tenant, &p.Name, &p.SystemPrompt)
		return p, err
	})
}

// ResealAssistantPrompt replaces a sealed system prompt with another seal
// of it (a version-2 seal re-sealed with the tenant's data key at the
// tenant's read). Like SealAssistantPrompt it changes only a row that
// still holds exactly old, and reports whether it did.
func (s *Store) ResealAssistantPrompt(ctx context.Context, tenant, name string, old, sealed []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE assistants SET system_prompt_sealed = ?
		WHERE tenant_id = ? AND name = ? AND system_prompt = '' AND system_prompt_sealed = ?`), sealed, tenant, name, old)
	if err != nil {
		return false, fmt.Errorf("assistants: reseal prompt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("assistants: reseal prompt: %w", err)
	}
	return n == 1, nil
}
