package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/store"
)

// Connection states (the proto's numbering).
const (
	ConnPending   = 1
	ConnConnected = 2
)

// Connection row.
type Connection struct {
	Tenant, ID, Name                                string
	AuthEndpoint, TokenEndpoint, RevocationEndpoint string
	ClientID, RedirectURI                           string
	Scopes                                          []string
	StateHash, Verifier                             []byte // while pending
	Status                                          int
	CreatedAt                                       time.Time
}

const connSelect = `SELECT tenant, id, name, authorization_endpoint, token_endpoint, revocation_endpoint, client_id, scopes, redirect_uri, state_hash, verifier, status, created_at FROM connections`

func scanConn(r scanner) (Connection, error) {
	var c Connection
	var scopes string
	var t int64
	err := r.Scan(&c.Tenant, &c.ID, &c.Name, &c.AuthEndpoint, &c.TokenEndpoint, &c.RevocationEndpoint, &c.ClientID, &scopes, &c.RedirectURI, &c.StateHash, &c.Verifier, &c.Status, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ")
	}
	c.CreatedAt = at(t)
	return c, err
}

// CreateConnection inserts a pending connection.
func (s *Store) CreateConnection(ctx context.Context, c Connection) (Connection, error) {
	c.CreatedAt, c.Status = s.now().UTC(), ConnPending
	_, err := s.db.ExecContext(ctx, `INSERT INTO connections (tenant, id, name, authorization_endpoint, token_endpoint, revocation_endpoint, client_id, scopes, redirect_uri, state_hash, verifier, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Tenant, c.ID, c.Name, c.AuthEndpoint, c.TokenEndpoint, c.RevocationEndpoint, c.ClientID, strings.Join(c.Scopes, " "), c.RedirectURI, c.StateHash, c.Verifier, c.Status, ns(c.CreatedAt))
	return c, err
}

// GetConnection returns one connection.
func (s *Store) GetConnection(ctx context.Context, tenant, id string) (Connection, error) {
	return scanConn(s.db.QueryRowContext(ctx, connSelect+` WHERE tenant = ? AND id = ?`, tenant, id))
}

// ListConnections returns the tenant's connections, newest first.
func (s *Store) ListConnections(ctx context.Context, tenant string) ([]Connection, error) {
	rows, err := s.db.QueryContext(ctx, connSelect+` WHERE tenant = ? ORDER BY created_at DESC, id`, tenant)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanConn)
}

// MarkConnected forgets the pending grant's state and verifier (single
// use) and marks the connection connected, if it was pending.
func (s *Store) MarkConnected(ctx context.Context, tenant, id string) error {
	r, err := s.db.ExecContext(ctx, `UPDATE connections SET status = ?, state_hash = NULL, verifier = NULL WHERE tenant = ? AND id = ? AND status = ?`,
		ConnConnected, tenant, id, ConnPending)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteConnection deletes a connection and, with purge, its documents
// (whose chunks and jobs cascade); it returns the deleted documents.
func (s *Store) DeleteConnection(ctx context.Context, tenant, id string, purge bool) ([]Document, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	r, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return nil, err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	var docs []Document
	if purge {
		rows, err := tx.QueryContext(ctx, docSelect+` WHERE tenant = ? AND connection_id = ?`, tenant, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			d, err := scanDoc(rows)
			if err != nil {
				_ = rows.Close()
				return nil, err
			}
			docs = append(docs, d)
		}
		_ = rows.Close()
		for _, d := range docs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE tenant = ? AND document_id = ?`, tenant, d.ID); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM documents WHERE tenant = ? AND id = ?`, tenant, d.ID); err != nil {
				return nil, err
			}
		}
	}
	return docs, tx.Commit()
}
