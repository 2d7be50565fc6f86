package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// AuditEntry is one link of the audit hash chain.
type AuditEntry struct {
	Seq      int64
	At       time.Time
	TenantID string
	Record   []byte // the JSON audit record (never a secret value)
	PrevHash string
	Hash     string
}

// ChainHash is the hash of the link at seq: hex SHA-256 over the sequence
// number, the previous link's hash and the record, so changing, dropping,
// reordering or inserting a record breaks every later link.
func ChainHash(seq int64, prevHash string, record []byte) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(seq, 10)))
	h.Write([]byte{'\n'})
	h.Write([]byte(prevHash))
	h.Write([]byte{'\n'})
	h.Write(record)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditAppend is one record to append to the audit chain.
type AuditAppend struct {
	At     time.Time
	Tenant string
	Record []byte // the JSON audit record (never a secret value)
}

// AppendAudit appends record to the audit chain in its own transaction and
// returns its sequence number. See [Store.AppendAuditBatch].
func (s *Store) AppendAudit(ctx context.Context, at time.Time, tenant string, record []byte) (int64, error) {
	return s.AppendAuditBatch(ctx, []AuditAppend{{At: at, Tenant: tenant, Record: record}})
}

// AppendAuditBatch appends recs to the audit chain, in order, in one
// transaction, and returns the sequence number of the last. The chain head
// row is read with a row lock (PostgreSQL) or under SQLite's write lock,
// so concurrent writers — other goroutines or other replicas — append one
// after the other and the chain stays linear; a batch pays that lock and
// the commit once for all its records. Either every record is committed or
// none. It must not be called inside [Store.InTx] on SQLite (the outer
// transaction holds the only write lock).
func (s *Store) AppendAuditBatch(ctx context.Context, recs []AuditAppend) (int64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	var seq int64
	err := s.inTx(ctx, s.auditDB, func(tx *Tx) error {
		var prev string
		if err := tx.q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+tx.lockRow()).Scan(&seq, &prev); err != nil {
			return fmt.Errorf("store: audit head: %w", err)
		}
		for _, r := range recs {
			seq++
			hash := ChainHash(seq, prev, r.Record)
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO audit_chain (seq, at, tenant_id, record, prev_hash, hash) VALUES (?,?,?,?,?,?)`,
				seq, nanos(r.At), r.Tenant, string(r.Record), prev, hash); err != nil {
				return fmt.Errorf("store: append audit: %w", err)
			}
			prev = hash
		}
		if _, err := tx.q.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, seq, prev); err != nil {
			return fmt.Errorf("store: audit head: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// AuditEntries returns up to limit links after seq afterSeq, in order.
func (s *Store) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT seq, at, tenant_id, record, prev_hash, hash FROM audit_chain
 WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var rec string
		if err := rows.Scan(&e.Seq, &at, &e.TenantID, &rec, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: audit entries: %w", err)
		}
		e.At, e.Record = fromNanos(at), []byte(rec)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditArchived returns the last link moved to the audit archive (seq 0
// and hash "" when none was): the chain in the table continues from it.
func (s *Store) AuditArchived(ctx context.Context) (seq int64, hash string, err error) {
	if err := s.x().QueryRowContext(ctx, `SELECT seq, hash FROM audit_archived WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("store: audit archived: %w", err)
	}
	return seq, hash, nil
}

// ErrArchiveMoved reports that another replica archived links since the
// caller read [Store.AuditArchived]; nothing was deleted.
var ErrArchiveMoved = errors.New("store: the audit archive moved on meanwhile")

// DropArchivedAudit deletes the links after fromSeq up to last, which the
// caller has written to the audit archive, and records last as the last
// archived link, in one transaction fenced on fromSeq still being the
// last archived link ([ErrArchiveMoved] otherwise). Links are only ever
// deleted from the start of the chain: last must be the newest of a
// contiguous run that starts right after fromSeq.
func (s *Store) DropArchivedAudit(ctx context.Context, fromSeq int64, last AuditEntry) error {
	return s.inTx(ctx, s.auditDB, func(tx *Tx) error {
		var seq int64
		var hash string
		if err := tx.q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_archived WHERE id = 1`+tx.lockRow()).Scan(&seq, &hash); err != nil {
			return fmt.Errorf("store: audit archived: %w", err)
		}
		if seq != fromSeq {
			return ErrArchiveMoved
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM audit_chain WHERE seq > ? AND seq <= ?`, fromSeq, last.Seq); err != nil {
			return fmt.Errorf("store: drop archived audit: %w", err)
		}
		if _, err := tx.q.ExecContext(ctx, `UPDATE audit_archived SET seq = ?, hash = ? WHERE id = 1`, last.Seq, last.Hash); err != nil {
			return fmt.Errorf("store: audit archived: %w", err)
		}
		return nil
	})
}

// VerifyLinks checks that links continue the chain after (seq, hash):
// consecutive sequence numbers, each pointing at its predecessor's hash,
// each hash matching its record. It returns the last link's seq and hash.
func VerifyLinks(seq int64, hash string, links []AuditEntry) (int64, string, error) {
	for _, e := range links {
		switch {
		case e.Seq != seq+1:
			return seq, hash, fmt.Errorf("store: audit chain: link %d follows %d", e.Seq, seq)
		case e.PrevHash != hash:
			return seq, hash, fmt.Errorf("store: audit chain: link %d does not point at link %d", e.Seq, seq)
		case e.Hash != ChainHash(e.Seq, e.PrevHash, e.Record):
			return seq, hash, fmt.Errorf("store: audit chain: link %d was altered", e.Seq)
		}
		seq, hash = e.Seq, e.Hash
	}
	return seq, hash, nil
}

// VerifyAuditChain walks the chain in the table and checks that it is
// linear (each link numbered one after its predecessor and pointing at its
// hash, starting right after the last archived link), that every hash
// matches its record, and that the head points at the last link. It
// returns the sequence number of the last link. The archived part is
// verified from the archive's objects (internal/auditarchive).
func (s *Store) VerifyAuditChain(ctx context.Context) (int64, error) {
	n, prev, err := s.AuditArchived(ctx)
	if err != nil {
		return 0, err
	}
	for {
		batch, err := s.AuditEntries(ctx, n, 1000)
		if err != nil {
			return n, err
		}
		if n, prev, err = VerifyLinks(n, prev, batch); err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
	}
	var headSeq int64
	var headHash string
	if err := s.x().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return n, fmt.Errorf("store: audit head: %w", err)
	}
	if headSeq != n || headHash != prev {
		return n, fmt.Errorf("store: audit chain: head is at %d, the chain ends at %d", headSeq, n)
	}
	return n, nil
}
