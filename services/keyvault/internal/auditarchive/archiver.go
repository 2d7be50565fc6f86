package auditarchive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Archiver moves audit links older than Retention to Sink.
type Archiver struct {
	Store     *store.Store
	Sink      Sink
	Retention time.Duration
	// Batch is the most links per archive object (default 1000);
	// MaxBatches bounds one Run (default 20), the rest waits for the next.
	Batch, MaxBatches int
	Now               func() time.Time
	Log               *slog.Logger
}

// Line is one link in an archive object (JSON, one a line). Record is
// the audit record exactly as hashed.
type Line struct {
	Seq      int64  `json:"seq"`
	At       int64  `json:"at_unix_nano"`
	TenantID string `json:"tenant_id"`
	Record   string `json:"record"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ObjectName names the object holding links first..last; names sort in
// chain order.
func ObjectName(first, last int64) string {
	return fmt.Sprintf("audit-%020d-%020d.jsonl", first, last)
}

// Run archives the links due (older than the retention, from the start
// of the chain, stopping at the first one that is not), a batch per
// object, and deletes each batch from the table once its object was
// written and read back intact. It returns the number of links archived.
func (a *Archiver) Run(ctx context.Context) (int, error) {
	batch, maxBatches := a.Batch, a.MaxBatches
	if batch <= 0 {
		batch = 1000
	}
	if maxBatches <= 0 {
		maxBatches = 20
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	cutoff := now().Add(-a.Retention)
	total := 0
	for range maxBatches {
		seq, hash, err := a.Store.AuditArchived(ctx)
		if err != nil {
			return total, err
		}
		links, err := a.Store.AuditEntries(ctx, seq, batch)
		if err != nil {
			return total, err
		}
		due := 0
		for due < len(links) && links[due].At.Before(cutoff) {
			due++
		}
		if due == 0 {
			return total, nil
		}
		links = links[:due]
		// Never archive (and so delete) links that do not verify: a
		// tampered chain stays in the table for the operator to see. Links
		// that do not follow the anchor read just before may only mean
		// another replica archived them in between.
		if _, _, err := store.VerifyLinks(seq, hash, links); err != nil {
			if now, _, aerr := a.Store.AuditArchived(ctx); aerr == nil && now != seq {
				continue
			}
			return total, fmt.Errorf("audit archive: refusing to archive: %w", err)
		}
		body, err := encode(links)
		if err != nil {
			return total, err
		}
		last := links[len(links)-1]
		name := ObjectName(links[0].Seq, last.Seq)
		if err := a.Sink.Put(ctx, name, body); err != nil {
			return total, fmt.Errorf("audit archive: %w", err)
		}
		back, err := a.Sink.Get(ctx, name)
		if err != nil {
			return total, fmt.Errorf("audit archive: read back %s: %w", name, err)
		}
		if !bytes.Equal(back, body) {
			return total, fmt.Errorf("audit archive: %s read back different", name)
		}
		if err := a.Store.DropArchivedAudit(ctx, seq, last); err != nil {
			if errors.Is(err, store.ErrArchiveMoved) {
				return total, nil // another replica archived meanwhile
			}
			return total, err
		}
		total += len(links)
		if a.Log != nil {
			a.Log.Info("audit links archived", "first", links[0].Seq, "last", last.Seq, "object", name, "archive", a.Sink.String())
		}
		if due < batch {
			return total, nil
		}
	}
	return total, nil
}

func encode(links []store.AuditEntry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range links {
		if err := enc.Encode(Line{Seq: e.Seq, At: e.At.UnixNano(), TenantID: e.TenantID, Record: string(e.Record),
			PrevHash: e.PrevHash, Hash: e.Hash}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// Decode parses an archive object.
func Decode(body []byte) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("audit archive: line %d: %w", len(out)+1, err)
		}
		out = append(out, store.AuditEntry{Seq: l.Seq, At: time.Unix(0, l.At), TenantID: l.TenantID,
			Record: []byte(l.Record), PrevHash: l.PrevHash, Hash: l.Hash})
	}
	return out, sc.Err()
}

// Verify checks that the named objects, in order, hold the chain from its
// first link up to the table's last archived link, so archive and table
// verify as one chain (the table's part with Store.VerifyAuditChain). It
// returns the number of archived links.
func Verify(ctx context.Context, st *store.Store, sink Sink, names []string) (int64, error) {
	seq, hash := int64(0), ""
	for _, name := range names {
		body, err := sink.Get(ctx, name)
		if err != nil {
			return seq, err
		}
		links, err := Decode(body)
		if err != nil {
			return seq, fmt.Errorf("%s: %w", name, err)
		}
		if seq, hash, err = store.VerifyLinks(seq, hash, links); err != nil {
			return seq, fmt.Errorf("%s: %w", name, err)
		}
	}
	wantSeq, wantHash, err := st.AuditArchived(ctx)
	if err != nil {
		return seq, err
	}
	if seq != wantSeq || hash != wantHash {
		return seq, fmt.Errorf("audit archive: the objects end at link %d, the table says %d was the last archived", seq, wantSeq)
	}
	return seq, nil
}
