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
	// ResourceHosts are the hosts the access token may be sent to (empty:
	// the token endpoint's host; see ingest.TokenHosts).
	ResourceHosts       []string
	StateHash, Verifier []byte // while pending
	Status              int
	CreatedAt           time.Time
	// CreatedByKey and CreatedBySubject are the verified principal that
	// created the connection (its authorizer, ADR 0118); empty for
	// connections from before they were recorded. CreatedByMember is the
	// subject's member record then ("" when not known).
	CreatedByKey, CreatedBySubject, CreatedByMember string
}

const connSelect = `SELECT tenant, id, name, authorization_endpoint, token_endpoint, revocation_endpoint, client_id, scopes, redirect_uri, state_hash, verifier, status, created_at, resource_hosts, created_by_key, created_by_subject, created_by_member FROM connections`

func scanConn(r scanner) (Connection, error) {
	var c Connection
	var scopes, hosts string
	var t int64
	err := r.Scan(&c.Tenant, &c.ID, &c.Name, &c.AuthEndpoint, &c.TokenEndpoint, &c.RevocationEndpoint, &c.ClientID, &scopes, &c.RedirectURI, &c.StateHash, &c.Verifier, &c.Status, &t, &hosts, &c.CreatedByKey, &c.CreatedBySubject, &c.CreatedByMember)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ")
	}
	if hosts != "" {
		c.ResourceHosts = strings.Split(hosts, " ")
	}
	c.CreatedAt = at(t)
	return c, err
}

// CreateConnection inserts a pending connection.
func (s *Store) CreateConnection(ctx context.Context, c Connection) (Connection, error) {
	c.CreatedAt, c.Status = s.now().UTC(), ConnPending
	_, err := s.db.ExecContext(ctx, `INSERT INTO connections (tenant, id, name, authorization_endpoint, token_endpoint, revocation_endpoint, client_id, scopes, redirect_uri, state_hash, verifier, status, created_at, resource_hosts, created_by_key, created_by_subject, created_by_member)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Tenant, c.ID, c.Name, c.AuthEndpoint, c.TokenEndpoint, c.RevocationEndpoint, c.ClientID, strings.Join(c.Scopes, " "), c.RedirectURI, c.StateHash, c.Verifier, c.Status, ns(c.CreatedAt),
		strings.Join(c.ResourceHosts, " "), c.CreatedByKey, c.CreatedBySubject, c.CreatedByMember)
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

// ErrStateUsed is returned by ConsumeState when the connection is pending
// but its authorization request was already used (successfully or not).
var ErrStateUsed = errors.New("authorization request already used")

// ErrStateMismatch is returned by ConsumeState when the state does not
// belong to the connection's pending authorization request.
var ErrStateMismatch = errors.New("state does not match")

// ErrConnected is returned by ConsumeState for a connected connection.
var ErrConnected = errors.New("connection already connected")

// ConsumeState takes the pending authorization request of a connection in
// one statement: it clears the state hash and returns the sealed PKCE
// verifier only when stateHash matches, so of two concurrent callers with
// the same state exactly one gets the verifier, and the state is gone
// whatever happens to the token exchange that follows. A wrong state
// consumes nothing (a guess must not cancel the user's sign-in).
//
// The comparison runs in SQL and is not constant time; it compares SHA-256
// digests of the state, which leaks nothing an attacker can steer.
func (s *Store) ConsumeState(ctx context.Context, tenant, id string, stateHash []byte) ([]byte, error) {
	verifier, err := s.takeState(ctx, tenant, id, stateHash)
	if err == nil {
		return verifier, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	// Nothing taken: say why (the row is read after the failed update, so
	// a concurrent winner shows as used or connected, never as a match).
	c, err := s.GetConnection(ctx, tenant, id)
	switch {
	case err != nil:
		return nil, err
	case c.Status != ConnPending:
		return nil, ErrConnected
	case c.StateHash == nil:
		return nil, ErrStateUsed
	}
	return nil, ErrStateMismatch
}

// takeState clears the matching state and the verifier in one
// transaction. RETURNING yields the row after the update, so the statement
// that spends the state returns the (still present) verifier and a second
// statement clears it; sql.ErrNoRows when nothing matched.
func (s *Store) takeState(ctx context.Context, tenant, id string, stateHash []byte) ([]byte, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var verifier []byte
	if err := q.QueryRowContext(ctx, `UPDATE connections SET state_hash = NULL
		WHERE tenant = ? AND id = ? AND status = ? AND state_hash IS NOT NULL AND state_hash = ? RETURNING verifier`,
		tenant, id, ConnPending, stateHash).Scan(&verifier); err != nil {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE connections SET verifier = NULL WHERE tenant = ? AND id = ?`, tenant, id); err != nil {
		return nil, err
	}
	return verifier, tx.Commit()
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
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	r, err := q.ExecContext(ctx, `DELETE FROM connections WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return nil, err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	var docs []Document
	if purge {
		rows, err := q.QueryContext(ctx, docSelect+` WHERE tenant = ? AND connection_id = ?`, tenant, id)
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
			// other replicas' indexes of the collection are now stale
			if _, _, err := bump(ctx, q, tenant, d.Collection); err != nil {
				return nil, err
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE tenant = ? AND document_id = ?`, tenant, d.ID); err != nil {
				return nil, err
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM documents WHERE tenant = ? AND id = ?`, tenant, d.ID); err != nil {
				return nil, err
			}
		}
	}
	return docs, tx.Commit()
}
