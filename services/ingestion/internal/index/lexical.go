package index

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Entry is one chunk to index.
type Entry struct {
	ID   string
	Text string
	// Words, when not nil, are the ids of Text's words
	// (hashembed.VectorV2Words, which embedding already computed): the
	// analyser then reads its stems by id instead of scanning Text.
	Words []uint32
}

// Hit is a ranked chunk id.
type Hit struct {
	ID    string
	Score float64
}

// Keys is a tenant's key material as the lexical index uses it
// (keyring.Key): sealing its files and keying its term hashes.
type Keys interface {
	Seal(kind, id string, pt []byte) []byte
	Open(kind, id string, sealed []byte) ([]byte, error)
	MAC(data []byte) []byte
}

// KeySource returns a tenant's keys when they are in memory.
type KeySource func(tenant string) (Keys, bool)

// ErrNoKeys means the tenant's key is not in memory, so its index can be
// neither read nor written.
var ErrNoKeys = errors.New("lexical index: the tenant's key is not in memory")

const (
	// flushDelay is how long after a change the index is written to disk;
	// flushDocs unwritten chunks are written at once.
	flushDelay = time.Second
	flushDocs  = 4096
)

// Lexical manages the per-tenant, per-collection lexical indexes (ADR
// 0051): in memory, searched there, and written to sealed segment files
// under dir shortly after each change.
type Lexical struct {
	dir  string
	keys KeySource

	mu   sync.Mutex
	open map[string]*collIndex
	// loading: the collections being read from disk (without mu held, so
	// other collections are not held up), each closed when done.
	loading map[string]chan struct{}
}

// NewLexical keeps indexes under dir. UseKeys must be called before use.
func NewLexical(dir string) *Lexical {
	return &Lexical{
		dir: dir, open: map[string]*collIndex{}, loading: map[string]chan struct{}{},
		keys: func(string) (Keys, bool) { return nil, false },
	}
}

// UseKeys sets where tenants' keys come from.
func (l *Lexical) UseKeys(src KeySource) { l.keys = src }

// TenantDir is where a tenant's indexes live: a digest, so tenant ids never
// become path components.
func (l *Lexical) TenantDir(tenant string) string {
	sum := sha256.Sum256([]byte("rampart-ingestion-index\x00" + tenant))
	return filepath.Join(l.dir, hex.EncodeToString(sum[:16]))
}

// CollectionDir is where a collection's index lives: a digest of its name
// under the tenant's directory, so collection names (tenant data, such as
// "layoffs-2027") do not show on disk either.
func (l *Lexical) CollectionDir(tenant, collection string) string {
	sum := sha256.Sum256([]byte("rampart-ingestion-collection\x00" + collection))
	return filepath.Join(l.TenantDir(tenant), hex.EncodeToString(sum[:16]))
}

func (l *Lexical) path(tenant, collection string) string { return l.CollectionDir(tenant, collection) }

// LegacyDir is where a collection's index lived until 2026-12-06: the
// collection's name under the tenant's directory (bleve's indexes, then
// the first of ADR 0051's). It is deleted wherever the index is read or
// dropped; the index at CollectionDir is rebuilt from the database.
func (l *Lexical) LegacyDir(tenant, collection string) string {
	return filepath.Join(l.TenantDir(tenant), collection)
}

// removeAll deletes a collection's index and any directory of the legacy
// layout.
func (l *Lexical) removeAll(tenant, collection string) error {
	return errors.Join(os.RemoveAll(l.path(tenant, collection)), os.RemoveAll(l.LegacyDir(tenant, collection)))
}

// get returns the open index of a collection, reading it from disk or
// (with create) creating it; nil without create when there is none. A
// directory of the legacy layout (bleve's index or ADR 0051's first), or
// an index that does not read, is deleted: the collection's recorded generation is gone with it, so its
// next search rebuilds the index from the database (ingest/fresh.go).
// One goroutine reads a collection from disk at a time, without holding
// l.mu; others wanting it wait for that read.
func (l *Lexical) get(tenant, collection string, create bool) (*collIndex, error) {
	key := tenant + "\x00" + collection
	for {
		l.mu.Lock()
		if ix, ok := l.open[key]; ok {
			l.mu.Unlock()
			return ix, nil
		}
		if ch, ok := l.loading[key]; ok {
			l.mu.Unlock()
			<-ch
			continue // opened, or not there (and maybe this caller creates it)
		}
		ch := make(chan struct{})
		l.loading[key] = ch
		l.mu.Unlock()
		ix, err := l.read(tenant, collection, create)
		l.mu.Lock()
		delete(l.loading, key)
		if ix != nil {
			l.open[key] = ix
		}
		l.mu.Unlock()
		close(ch)
		return ix, err
	}
}

// read reads a collection's index from disk (see get).
func (l *Lexical) read(tenant, collection string, create bool) (*collIndex, error) {
	k, ok := l.keys(tenant)
	if !ok {
		return nil, ErrNoKeys
	}
	p := l.path(tenant, collection)
	if err := os.RemoveAll(l.LegacyDir(tenant, collection)); err != nil {
		return nil, fmt.Errorf("remove the index of the old layout: %w", err)
	}
	ix, err := load(p, tenant, collection, k)
	switch {
	case err == nil:
		return ix, nil
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, errCorrupt):
		if _, serr := os.Stat(p); serr == nil {
			// no manifest (a creation a crash interrupted) or damaged
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
		}
		if !create {
			return nil, nil
		}
		ix = newCollIndex(newTermKeyer(k))
		ix.disk.dir, ix.disk.tenant, ix.disk.collection = p, tenant, collection
		return ix, nil
	default:
		return nil, fmt.Errorf("open lexical index: %w", err)
	}
}

// changed schedules the write of an index to disk.
func (l *Lexical) changed(ix *collIndex) {
	ix.mu.Lock()
	now := len(ix.ids)-int(ix.disk.flushedDocs) >= flushDocs
	if ix.disk.scheduled && !now {
		ix.mu.Unlock()
		return
	}
	ix.disk.scheduled = true
	ix.mu.Unlock()
	delay := flushDelay
	if now {
		delay = 0
	}
	time.AfterFunc(delay, func() {
		ix.mu.Lock()
		ix.disk.scheduled = false
		ix.mu.Unlock()
		// Without the key (it left the cache) the changes stay in memory
		// until the next change or Close; a failed write leaves them
		// marked unwritten. Until written, the recorded generation on
		// disk is an older one, so a restart rebuilds rather than trusts.
		if k, ok := l.keys(ix.disk.tenant); ok {
			_ = ix.flush(k)
		}
	})
}

// Index adds or replaces entries (ids are stable, so re-indexing after a
// crash is idempotent).
func (l *Lexical) Index(tenant, collection string, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	b := analyse(entries)
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	if err := ix.add(b); err != nil {
		return err
	}
	l.changed(ix)
	return nil
}

// Delete removes entries by id. When the tenant's key is not in memory
// and the index is not open either, the index is deleted instead (it is
// rebuilt from the database at the collection's next search).
func (l *Lexical) Delete(tenant, collection string, ids []string) error {
	ix, err := l.get(tenant, collection, false)
	if errors.Is(err, ErrNoKeys) {
		return l.removeAll(tenant, collection)
	}
	if err != nil || ix == nil {
		return err
	}
	ix.remove(ids)
	l.changed(ix)
	return nil
}

// Search returns up to k chunk ids ranked by BM25 for query (bm25.go).
func (l *Lexical) Search(tenant, collection, text string, k int) ([]Hit, error) {
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil {
		return nil, err
	}
	terms := defaultAnalyzer.queryTerms(text)
	if len(terms) == 0 {
		return nil, nil
	}
	keys := make([]uint64, len(terms))
	for i, t := range terms {
		keys[i] = ix.keyer.key(t)
	}
	return ix.search(keys, k), nil
}

// Generation returns what SetGeneration last recorded in a collection's
// index ("" when nothing was, there is no index, or it cannot be read
// without the tenant's key).
func (l *Lexical) Generation(tenant, collection string) (string, error) {
	ix, err := l.get(tenant, collection, false)
	if errors.Is(err, ErrNoKeys) {
		return "", nil
	}
	if err != nil || ix == nil {
		return "", err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.gen, nil
}

// SetGeneration records in a collection's index (created if missing) the
// state of the collection it now holds, so a restart keeps an index that is
// still current. It reaches the disk with the index's next write.
func (l *Lexical) SetGeneration(tenant, collection, g string) error {
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.gen, ix.disk.genDirty = g, true
	ix.mu.Unlock()
	l.changed(ix)
	return nil
}

// Flush writes every open index's changes to disk now (those of tenants
// whose keys are in memory).
func (l *Lexical) Flush() error {
	l.mu.Lock()
	all := make([]*collIndex, 0, len(l.open))
	for _, ix := range l.open {
		all = append(all, ix)
	}
	l.mu.Unlock()
	var errs []error
	for _, ix := range all {
		if k, ok := l.keys(ix.disk.tenant); ok {
			errs = append(errs, ix.flush(k))
		}
	}
	return errors.Join(errs...)
}

// DropCollection closes and deletes a collection's index.
func (l *Lexical) DropCollection(tenant, collection string) error {
	l.close(func(k string) bool { return k == tenant+"\x00"+collection }, false)
	return l.removeAll(tenant, collection)
}

// DropOtherTenants deletes the index directories of every tenant not in
// keep (and not open): the indexes of tenants purged while this replica
// was down. It returns how many it deleted.
func (l *Lexical) DropOtherTenants(keep []string) (int, error) {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keepDirs := make(map[string]bool, len(keep))
	for _, t := range keep {
		keepDirs[filepath.Base(l.TenantDir(t))] = true
	}
	l.mu.Lock()
	for k := range l.open {
		tenant, _, _ := strings.Cut(k, "\x00")
		keepDirs[filepath.Base(l.TenantDir(tenant))] = true
	}
	l.mu.Unlock()
	n := 0
	for _, e := range entries {
		if !e.IsDir() || keepDirs[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DropTenant closes and deletes all of a tenant's indexes.
func (l *Lexical) DropTenant(tenant string) error {
	l.close(func(k string) bool { return strings.HasPrefix(k, tenant+"\x00") }, false)
	return os.RemoveAll(l.TenantDir(tenant))
}

// close closes the open indexes whose keys match, writing their changes
// first with write; an index being written is waited for.
func (l *Lexical) close(match func(key string) bool, write bool) []error {
	var closing []*collIndex
	for {
		l.mu.Lock()
		var wait []chan struct{}
		for k, ch := range l.loading {
			if match(k) {
				wait = append(wait, ch)
			}
		}
		if len(wait) == 0 {
			break // with l.mu held
		}
		l.mu.Unlock()
		for _, ch := range wait {
			<-ch
		}
	}
	for k, ix := range l.open {
		if match(k) {
			closing = append(closing, ix)
			delete(l.open, k)
		}
	}
	l.mu.Unlock()
	var errs []error
	for _, ix := range closing {
		if write {
			if k, ok := l.keys(ix.disk.tenant); ok {
				errs = append(errs, ix.flush(k))
			}
		}
		ix.disk.mu.Lock()
		ix.disk.closed = true
		ix.disk.mu.Unlock()
	}
	return errs
}

// Close writes and closes every open index.
func (l *Lexical) Close() error {
	return errors.Join(l.close(func(string) bool { return true }, true)...)
}
