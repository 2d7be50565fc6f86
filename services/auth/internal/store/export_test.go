package store

import (
	"context"
	"io/fs"
)

// RedoRatePoolsMigration migrates db down to before the rate-pool
// backfill and up again, so a test runs the migration itself over the rows
// it stored.
func RedoRatePoolsMigration(ctx context.Context, db *DB) error {
	sub, err := fs.Sub(migrations, "migrations/"+db.dialect.String())
	if err != nil {
		return err
	}
	p, err := newProvider(db.db, db.dialect, sub)
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, ratePoolsVersion-1); err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}
