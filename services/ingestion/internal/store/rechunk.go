package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-platform/rampart/pkg/store"
)

// RechunkPayload is the payload of a rechunk job: not content (the job
// reads the document's stored text) but a marker that keeps the job
// claimable while it is unfinished, like every job's payload. It holds
// nothing secret.
var RechunkPayload = []byte("stored text")

// RechunkJobID is the id of the job that re-chunks document docID with
// chunker version: one per document and version, so replicas queueing
// it at the same time write one row (the second insert does nothing), and
// a job that failed for good is not queued again.
func RechunkJobID(version int, docID string) string {
	return fmt.Sprintf("rechunk%d-%s", version, docID)
}

// rechunkable is the condition on documents d that a rechunk job to
// version %[1]d may take: ready, cut by an older chunker, text stored, of
// a type whose stored text is the file itself (the types' placeholders
// follow) or with its outline stored (HTML, PDF, DOCX; ADR 0133), and
// without an unfinished job or an earlier rechunk job to this version
// (one that failed for good is not tried again).
const rechunkable = `d.state = %[2]d AND d.chunker < %[1]d AND d.text IS NOT NULL AND (d.content_type IN (%[3]s) OR d.outline IS NOT NULL)
	AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant = d.tenant AND j.document_id = d.id AND (j.payload IS NOT NULL OR j.id = 'rechunk%[1]d-' || d.id))`

// EnqueueRechunks queues rechunk jobs to chunker version for documents
// of tenants (the tenants whose keys this replica holds: only they can run
// them) whose stored text is a file of one of types or has its outline
// stored, oldest first, so that at most limit rechunk jobs of those
// tenants are unfinished. It returns how many it queued. Bounding the unfinished jobs, not the queueing rate,
// keeps the tenants' own jobs from waiting behind more than limit of them
// (jobs are claimed oldest first), and a suspended tenant's (its key
// forgotten) neither run nor take the others' room.
func (s *Store) EnqueueRechunks(ctx context.Context, tenants []string, version, limit int, types []string) (int, error) {
	if len(tenants) == 0 || len(types) == 0 || limit <= 0 {
		return 0, nil
	}
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	// Replicas queue one at a time, so the count below holds until the
	// commit (SQLite transactions are serialised already).
	if s.d == store.Postgres {
		if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('rampart-ingestion-rechunk'))`); err != nil {
			return 0, err
		}
	}
	in := `(?` + strings.Repeat(", ?", len(tenants)-1) + `)`
	args := make([]any, 0, len(tenants)+len(types)+1)
	for _, t := range tenants {
		args = append(args, t)
	}
	var pending int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'rechunk' AND payload IS NOT NULL AND tenant IN `+in, args...).Scan(&pending); err != nil {
		return 0, err
	}
	room := limit - pending
	if room <= 0 {
		return 0, nil
	}
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, room)
	cond := fmt.Sprintf(rechunkable, version, DocReady, `?`+strings.Repeat(", ?", len(types)-1))
	rows, err := q.QueryContext(ctx, `SELECT d.tenant, d.id, d.collection FROM documents d WHERE d.tenant IN `+in+` AND `+cond+`
		ORDER BY d.created_at, d.id LIMIT ?`, args...)
	if err != nil {
		return 0, err
	}
	type cand struct{ tenant, id, collection string }
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.tenant, &c.id, &c.collection); err != nil {
			rows.Close()
			return 0, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	now := ns(s.now())
	queued := 0
	for _, c := range cands {
		r, err := q.ExecContext(ctx, `INSERT INTO jobs (tenant, id, document_id, collection, state, payload, created_at, updated_at, kind, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'rechunk', '')
			ON CONFLICT (tenant, id) DO NOTHING`, c.tenant, RechunkJobID(version, c.id), c.id, c.collection, JobQueued, RechunkPayload, now, now)
		if err != nil {
			return 0, err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			queued++
		}
	}
	return queued, tx.Commit()
}

// RechunkBacklog counts the ready documents of all tenants cut by a
// chunker older than version: those a rechunk job can take (their stored
// text is a file of one of types, or their outline is stored), queued or
// not yet, and those it cannot (their text is not stored, or not the file
// and without an outline: HTML, PDF, DOCX from before ADR 0133; a failed
// rechunk job's too), which keep their chunks until their content is added
// again (ADR 0127).
func (s *Store) RechunkBacklog(ctx context.Context, version int, types []string) (rechunkable, other int, err error) {
	if len(types) == 0 {
		return 0, 0, nil
	}
	args := make([]any, 0, len(types))
	for _, t := range types {
		args = append(args, t)
	}
	typeIn := `?` + strings.Repeat(", ?", len(types)-1)
	cond := fmt.Sprintf(`d.state = %[2]d AND d.chunker < %[1]d AND d.text IS NOT NULL AND (d.content_type IN (%[3]s) OR d.outline IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant = d.tenant AND j.id = 'rechunk%[1]d-' || d.id AND j.payload IS NULL)`, version, DocReady, typeIn)
	var all int
	err = s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN %s THEN 1 ELSE 0 END), 0) FROM documents d WHERE d.state = %d AND d.chunker < %d`, cond, DocReady, version),
		args...).Scan(&all, &rechunkable)
	return rechunkable, all - rechunkable, err
}
