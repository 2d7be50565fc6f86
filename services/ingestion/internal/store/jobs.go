package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/store"
)

// ErrLeaseLost means the job is no longer this claim's: its lease expired
// and another replica took it, or it ended. The claim's outcome must not be
// written (the other replica's will be).
var ErrLeaseLost = errors.New("ingestion store: the job's lease was lost to another replica")

// Lease is one claim of a job: Holder is unique to the claim and fences
// every write of the job's progress and outcome.
type Lease struct {
	Tenant, JobID, Holder string
}

// Generation identifies the state of a collection's chunks: Epoch is the
// collection's creation time (a collection deleted and created again under
// the same name starts a new epoch) and N is bumped by every transaction
// that changes its chunks. Search indexes remember the generation they were
// built at.
type Generation struct {
	Epoch, N int64
}

// String renders g for the index's metadata.
func (g Generation) String() string { return fmt.Sprintf("%d.%d", g.Epoch, g.N) }

// NewHolder returns a lease holder for one claim by replica: the replica's
// name (for operators reading the jobs table) and a random part, so two
// claims never share a holder, not even in one process.
func NewHolder(replica string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return replica + "/" + hex.EncodeToString(b)
}

// claimable is the condition of a job any replica may take now: it is
// unfinished (it has its payload), nobody holds an unexpired lease on it,
// and its retry delay has passed.
const claimable = `payload IS NOT NULL AND lease_expires <= ? AND not_before <= ?`

// ClaimNext takes the oldest claimable job of one of tenants (the tenants
// whose keys this replica holds: only they can be opened) for holder until
// now+lease. ok is false when there is none. On PostgreSQL the candidate
// row is locked FOR UPDATE SKIP LOCKED, so replicas claiming at the same
// time take different jobs without waiting for each other; SQLite
// serialises the claiming transactions.
func (s *Store) ClaimNext(ctx context.Context, tenants []string, holder string, lease time.Duration) (Job, bool, error) {
	if len(tenants) == 0 {
		return Job{}, false, nil
	}
	now := ns(s.now())
	args := []any{now, now}
	for _, t := range tenants {
		args = append(args, t)
	}
	lock := ""
	if s.forUpdate() != "" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	return s.claim(ctx, `SELECT tenant, id FROM jobs WHERE `+claimable+` AND tenant IN (?`+strings.Repeat(", ?", len(tenants)-1)+`)
		ORDER BY created_at, id LIMIT 1`+lock, args, holder, now+lease.Nanoseconds())
}

// ClaimJob takes one named job if it is claimable (the job a call on this
// replica just queued); ok is false otherwise.
func (s *Store) ClaimJob(ctx context.Context, tenant, id, holder string, lease time.Duration) (Job, bool, error) {
	now := ns(s.now())
	lock := ""
	if s.forUpdate() != "" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	return s.claim(ctx, `SELECT tenant, id FROM jobs WHERE `+claimable+` AND tenant = ? AND id = ?`+lock,
		[]any{now, now, tenant, id}, holder, now+lease.Nanoseconds())
}

func (s *Store) claim(ctx context.Context, pick string, args []any, holder string, expires int64) (Job, bool, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Job{}, false, err
	}
	defer func() { _ = tx.Rollback() }()
	var tenant, id string
	err = q.QueryRowContext(ctx, pick, args...).Scan(&tenant, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE jobs SET lease_holder = ?, lease_expires = ? WHERE tenant = ? AND id = ?`, holder, expires, tenant, id); err != nil {
		return Job{}, false, err
	}
	j, err := scanJob(q.QueryRowContext(ctx, jobSelect+` WHERE tenant = ? AND id = ?`, tenant, id))
	if err != nil {
		return Job{}, false, err
	}
	return j, true, tx.Commit()
}

// WaitingTenants lists the tenants with unfinished jobs, also those leased
// by another replica or waiting for a retry: a replica that does not hold
// their keys unlocks them at their next call, so it can take such a job
// over as soon as it is claimable (its replica died) without waiting for
// yet another call.
func (s *Store) WaitingTenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT tenant FROM jobs WHERE payload IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, store.ScanColumn[string])
}

// RenewLease extends the claim's lease to now+lease; ErrLeaseLost when the
// job is no longer this claim's.
func (s *Store) RenewLease(ctx context.Context, l Lease, lease time.Duration) error {
	return s.fenced(ctx, s.db, l, `lease_expires = ?`, ns(s.now())+lease.Nanoseconds())
}

// ReleaseLease gives the job back unfinished (this replica stops: another
// may take it at once). Not an error when the job is no longer this claim's.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	err := s.fenced(ctx, s.db, l, `lease_holder = '', lease_expires = 0`)
	if errors.Is(err, ErrLeaseLost) {
		return nil
	}
	return err
}

// Requeue gives the claimed job back as a queued one (its tenant was
// suspended while it ran): no progress, no attempt counted, no error.
func (s *Store) Requeue(ctx context.Context, l Lease) error {
	err := s.fenced(ctx, s.db, l, `state = ?, chunks_done = 0, chunks_total = 0, error = '', lease_holder = '', lease_expires = 0, updated_at = ?`,
		JobQueued, ns(s.now()))
	if errors.Is(err, ErrLeaseLost) {
		return nil
	}
	return err
}

// fenced runs UPDATE jobs SET <set> on the claim's job while the claim
// holds it (and it is unfinished); ErrLeaseLost when it did not.
func (s *Store) fenced(ctx context.Context, q querier, l Lease, set string, args ...any) error {
	args = append(args, l.Tenant, l.JobID, l.Holder)
	r, err := q.ExecContext(ctx, `UPDATE jobs SET `+set+` WHERE tenant = ? AND id = ? AND lease_holder = ? AND payload IS NOT NULL`, args...)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// SetProgress records the claimed job's state and progress.
func (s *Store) SetProgress(ctx context.Context, l Lease, state, done, total int) error {
	return s.fenced(ctx, s.db, l, `state = ?, chunks_done = ?, chunks_total = ?, updated_at = ?`, state, done, total, ns(s.now()))
}

// bump advances a collection's generation in a transaction (locking its
// row on PostgreSQL until the commit) and returns it with the collection's
// embedding model; ErrNotFound when the collection is gone.
func bump(ctx context.Context, q querier, tenant, collection string) (Generation, string, error) {
	var g Generation
	var model string
	err := q.QueryRowContext(ctx, `UPDATE collections SET generation = generation + 1 WHERE tenant = ? AND name = ? RETURNING created_at, generation, embedding_model`,
		tenant, collection).Scan(&g.Epoch, &g.N, &model)
	if errors.Is(err, sql.ErrNoRows) {
		return g, "", ErrNotFound
	}
	return g, model, err
}

// Complete stores a document's chunks, marks it ready and its job
// succeeded, drops the job's payload and bumps the collection's
// generation, all in one transaction fenced on the lease. It replaces
// chunks a crashed earlier attempt may have left (or, for a reindex job,
// the document's previous chunks). meta is stored on the document. ErrStale when the collection's model is no
// longer model; ErrLeaseLost when another replica holds the job now.
// A document with a SourceMAC replaces the other versions of its source
// in the same transaction (their chunks, jobs and rows go as this one's
// chunks arrive); they are returned, so the caller takes their chunks out
// of its indexes.
func (s *Store) Complete(ctx context.Context, l Lease, docID, model string, chunks []Chunk, meta DocMeta) (Generation, []Document, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Generation{}, nil, err
	}
	defer func() { _ = tx.Rollback() }()
	// The fenced update comes first: on PostgreSQL it locks the job row,
	// so no replica can claim the job between this check and the commit.
	if err := s.fenced(ctx, q, l, `state = ?, chunks_done = ?, chunks_total = ?, payload = NULL, error = '', lease_holder = '', lease_expires = 0, updated_at = ?`,
		JobSucceeded, len(chunks), len(chunks), ns(s.now())); err != nil {
		return Generation{}, nil, err
	}
	d, err := scanDoc(q.QueryRowContext(ctx, docSelect+` WHERE tenant = ? AND id = ?`, l.Tenant, docID))
	if err != nil {
		return Generation{}, nil, err
	}
	// The vectors must be of the collection's current model: a re-embed
	// may have switched it while this job ran (the collection row stays
	// locked until the commit, so it cannot switch now).
	g, current, err := bump(ctx, q, l.Tenant, d.Collection)
	if err != nil {
		return Generation{}, nil, err
	}
	if current != model {
		return Generation{}, nil, ErrStale
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM chunks WHERE tenant = ? AND document_id = ?`, l.Tenant, docID); err != nil {
		return Generation{}, nil, err
	}
	if err := insertChunks(ctx, q, l.Tenant, docID, d.Collection, chunks); err != nil {
		return Generation{}, nil, err
	}
	if meta.Chunker <= 0 {
		meta.Chunker = 1
	}
	if _, err := q.ExecContext(ctx, `UPDATE documents SET state = ?, chunk_count = ?, title = ?, text = ?, outline = ?, chunker = ? WHERE tenant = ? AND id = ?`, DocReady, len(chunks), meta.Title, meta.Text, meta.Outline, meta.Chunker, l.Tenant, docID); err != nil {
		return Generation{}, nil, err
	}
	var replaced []Document
	if len(d.SourceMAC) > 0 {
		rows, err := q.QueryContext(ctx, docSelect+` WHERE tenant = ? AND collection = ? AND source_mac = ? AND id != ?`, l.Tenant, d.Collection, d.SourceMAC, docID)
		if err != nil {
			return Generation{}, nil, err
		}
		if replaced, err = store.CollectRows(rows, scanDoc); err != nil {
			return Generation{}, nil, err
		}
		for _, old := range replaced {
			for _, del := range []string{`DELETE FROM chunks WHERE tenant = ? AND document_id = ?`, `DELETE FROM jobs WHERE tenant = ? AND document_id = ?`, `DELETE FROM documents WHERE tenant = ? AND id = ?`} {
				if _, err := q.ExecContext(ctx, del, l.Tenant, old.ID); err != nil {
					return Generation{}, nil, err
				}
			}
		}
	}
	return g, replaced, tx.Commit()
}

// Fail marks the claimed job and its document failed with a (secret-free)
// reason and drops the payload.
func (s *Store) Fail(ctx context.Context, l Lease, docID, reason string) error {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.fenced(ctx, q, l, `state = ?, error = ?, payload = NULL, lease_holder = '', lease_expires = 0, updated_at = ?`, JobFailed, reason, ns(s.now())); err != nil {
		return err
	}
	if docID != "" {
		if _, err := q.ExecContext(ctx, `UPDATE documents SET state = ? WHERE tenant = ? AND id = ?`, DocFailed, l.Tenant, docID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// FailRetryable marks the claimed job failed with reason but keeps its
// payload (and the document's previous state), counts the attempt and
// gives the job back: any replica may run it again from notBefore (also
// after a restart). Fail ends it.
func (s *Store) FailRetryable(ctx context.Context, l Lease, reason string, notBefore time.Time) error {
	return s.fenced(ctx, s.db, l, `state = ?, error = ?, attempts = attempts + 1, not_before = ?, lease_holder = '', lease_expires = 0, updated_at = ?`,
		JobFailed, reason, ns(notBefore), ns(s.now()))
}

// CompleteReembed replaces the vectors of every chunk of the collection,
// switches its model and bumps its generation in one transaction fenced
// on the lease. ErrStale when the chunks are not exactly the ones
// re-embedded (a document came or went meanwhile).
func (s *Store) CompleteReembed(ctx context.Context, l Lease, collection, model string, dims int, vectors map[ChunkRef][]byte) (Generation, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Generation{}, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.fenced(ctx, q, l, `state = ?, chunks_done = ?, chunks_total = ?, payload = NULL, error = '', lease_holder = '', lease_expires = 0, updated_at = ?`,
		JobSucceeded, len(vectors), len(vectors), ns(s.now())); err != nil {
		return Generation{}, err
	}
	// Locks the collection row: no document commits in it until this does.
	g, _, err := bump(ctx, q, l.Tenant, collection)
	if err != nil {
		return Generation{}, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM chunks WHERE tenant = ? AND collection = ?`, l.Tenant, collection).Scan(&n); err != nil {
		return Generation{}, err
	}
	if n != len(vectors) {
		return Generation{}, ErrStale
	}
	st, err := q.PrepareContext(ctx, `UPDATE chunks SET vector = ? WHERE tenant = ? AND collection = ? AND document_id = ? AND seq = ?`)
	if err != nil {
		return Generation{}, err
	}
	defer st.Close()
	for ref, v := range vectors {
		r, err := st.ExecContext(ctx, v, l.Tenant, collection, ref.DocumentID, ref.Seq)
		if err != nil {
			return Generation{}, err
		}
		if k, _ := r.RowsAffected(); k != 1 {
			return Generation{}, ErrStale
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE collections SET embedding_model = ?, embedding_dims = ? WHERE tenant = ? AND name = ?`, model, dims, l.Tenant, collection); err != nil {
		return Generation{}, err
	}
	return g, tx.Commit()
}

// chunkRowsPerInsert is how many chunks one INSERT writes: one statement
// per chunk spent most of the commit in per-statement work (8 parameters a
// row: 512 per statement, far below SQLite's and PostgreSQL's limits).
const chunkRowsPerInsert = 64

// insertChunks writes chunks with multi-row INSERTs, prepared once per
// batch size.
func insertChunks(ctx context.Context, q store.Rebound, tenant, docID, collection string, chunks []Chunk) error {
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			_ = st.Close()
		}
	}()
	args := make([]any, 0, 8*chunkRowsPerInsert)
	for start := 0; start < len(chunks); start += chunkRowsPerInsert {
		batch := chunks[start:min(start+chunkRowsPerInsert, len(chunks))]
		st, ok := stmts[len(batch)]
		if !ok {
			var b strings.Builder
			b.WriteString(`INSERT INTO chunks (tenant, document_id, seq, collection, text, vector, heading, location) VALUES `)
			for i := range batch {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			}
			var err error
			if st, err = q.PrepareContext(ctx, b.String()); err != nil {
				return err
			}
			stmts[len(batch)] = st
		}
		args = args[:0]
		for _, c := range batch {
			args = append(args, tenant, docID, c.Seq, collection, c.Text, c.Vector, c.Heading, c.Location)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
