package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUniqueViolation reports whether err is a unique or primary-key
// constraint violation on either dialect (PostgreSQL SQLSTATE 23505, SQLite
// SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY), so stores map both to their own
// "already exists" error.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY constraint failed") ||
		strings.Contains(msg, "constraint failed: UNIQUE")
}

// IsSerializationFailure reports whether err is a PostgreSQL serialization
// failure or deadlock (SQLSTATE 40001, 40P01): the transaction did nothing
// and may be retried as a whole.
func IsSerializationFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
