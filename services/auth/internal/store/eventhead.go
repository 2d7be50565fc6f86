package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
)

// EventsChannel is the PostgreSQL notification channel a trigger on the
// events table notifies (migration 00004) on every committed append, from
// any replica and any version of auth that has run the migration.
const EventsChannel = "rampart_auth_events"

// EventHead returns the largest event cursor (0 for an empty log). It is
// the one query an idle auth process runs on a timer, so it is prepared
// once (the first call) instead of parsed and planned on every poll: on
// SQLite it reads the rightmost entry of the rowid tree.
func (s *DB) EventHead(ctx context.Context) (int64, error) {
	stmt, err := s.headStmt(ctx)
	if err != nil {
		return 0, err
	}
	var h sql.NullInt64
	if err := stmt.QueryRowContext(ctx).Scan(&h); err != nil {
		return 0, mapErr(err)
	}
	return h.Int64, nil
}

func (s *DB) headStmt(ctx context.Context) (*sql.Stmt, error) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if s.head != nil {
		return s.head, nil
	}
	stmt, err := s.db.PrepareContext(ctx, `SELECT MAX(id) FROM events`)
	if err != nil {
		return nil, fmt.Errorf("prepare event head: %w", err)
	}
	s.head = stmt
	return stmt, nil
}

// ErrNoListen is returned by ListenEvents on a store that has no
// notifications (SQLite).
var ErrNoListen = errors.New("store: no event notifications on this dialect")

// ListenEvents runs LISTEN on a connection of its own (taken from the pool
// for as long as it runs) and calls listening once the LISTEN is in place,
// then notify for every notification of [EventsChannel], until ctx ends or
// the connection fails. The connection is closed afterwards, never handed
// back to the pool still listening.
func (s *DB) ListenEvents(ctx context.Context, listening, notify func()) error {
	if s.dialect != Postgres {
		return ErrNoListen
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen: driver connection is %T, not pgx", dc)
		}
		pc := sc.Conn()
		// Closing the pgx connection makes database/sql drop it (IsValid).
		defer func() { _ = pc.Close(context.WithoutCancel(ctx)) }()
		if _, err := pc.Exec(ctx, "LISTEN "+EventsChannel); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		listening()
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			notify()
		}
	})
}
