package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// ErrCrawlBusy means the collection already has an unfinished crawl job.
var ErrCrawlBusy = fmt.Errorf("ingestion store: a crawl of this collection is unfinished: %w", grpcerr.ErrFailedPrecondition)

// CreateCrawlJob queues a crawl job of a collection (no document; the
// sealed start URL and limits are the payload). ErrNotFound without the
// collection, ErrCrawlBusy while another crawl of it is unfinished (still
// crawling, or waiting for its page jobs).
func (s *Store) CreateCrawlJob(ctx context.Context, tenant, collection, jobID string, pagesMax int, payload []byte) (Job, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Job{}, err
	}
	defer func() { _ = tx.Rollback() }()
	// On PostgreSQL the collection row is locked until the commit, so two
	// crawls of one collection cannot both pass the check below.
	var name string
	if err := q.QueryRowContext(ctx, `SELECT name FROM collections WHERE tenant = ? AND name = ?`+s.forUpdate(), tenant, collection).Scan(&name); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, ErrNotFound
		}
		return Job{}, err
	}
	var busy int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE tenant = ? AND collection = ? AND kind = 'crawl' AND (state IN (?, ?) OR payload IS NOT NULL)`,
		tenant, collection, JobQueued, JobRunning).Scan(&busy); err != nil {
		return Job{}, err
	}
	if busy > 0 {
		return Job{}, ErrCrawlBusy
	}
	now := s.now().UTC()
	j := Job{Tenant: tenant, ID: jobID, Collection: collection, State: JobQueued, CreatedAt: now, UpdatedAt: now, Kind: KindCrawl, PagesMax: pagesMax}
	if _, err := q.ExecContext(ctx, `INSERT INTO jobs (tenant, id, document_id, collection, state, payload, created_at, updated_at, kind, pages_max) VALUES (?, ?, '', ?, ?, ?, ?, ?, 'crawl', ?)`,
		tenant, jobID, collection, JobQueued, payload, ns(now), ns(now), pagesMax); err != nil {
		return Job{}, err
	}
	return j, tx.Commit()
}

// SetPages records the claimed crawl's pages fetched so far.
func (s *Store) SetPages(ctx context.Context, l Lease, done int) error {
	return s.fenced(ctx, s.db, l, `state = ?, pages_done = ?, updated_at = ?`, JobRunning, done, ns(s.now()))
}

// EndCrawl records that the claimed crawl fetched its last page: the
// payload (start URL) is dropped, so no replica claims it again, and
// detail kept; the job stays running until its page jobs have ended
// (FinishCrawl).
func (s *Store) EndCrawl(ctx context.Context, l Lease, pages int, detail string) error {
	return s.fenced(ctx, s.db, l, `state = ?, pages_done = ?, detail = ?, payload = NULL, lease_holder = '', lease_expires = 0, updated_at = ?`,
		JobRunning, pages, detail, ns(s.now()))
}

// FinishCrawl marks a crawl job succeeded when it is done crawling (no
// payload) and none of its page jobs is unfinished (each keeps its payload
// until it ends), in one statement: each page job's end and the crawl's
// own end call it after their commits, so the last of them sees every
// other committed and finishes the crawl, exactly once (the state
// condition). It reports whether this call did.
func (s *Store) FinishCrawl(ctx context.Context, tenant, id string) (bool, error) {
	r, err := s.db.ExecContext(ctx, `UPDATE jobs SET state = ?, updated_at = ? WHERE tenant = ? AND id = ? AND kind = 'crawl' AND state = ? AND payload IS NULL
		AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.tenant = ? AND c.parent_id = ? AND c.payload IS NOT NULL)`,
		JobSucceeded, ns(s.now()), tenant, id, JobRunning, tenant, id)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}
