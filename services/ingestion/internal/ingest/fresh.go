package ingest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// A replica's search indexes of a collection (the lexical index on local
// disk, the decrypted vectors in memory) are derived from the sealed chunks
// in the shared database. Every transaction that changes a collection's
// chunks bumps its generation (store.Generation); a replica remembers the
// generation its indexes hold (in memory, and in the lexical index so a
// restart keeps a current index) and rebuilds them from the chunks when a
// search finds the collection at another one: another replica changed it.
//
// Own changes keep the indexes current without a rebuild: the job indexes
// its chunks before its commit, and when the commit moved the generation
// by exactly one from what the indexes hold, nothing else happened in
// between and the indexes are at the new generation.

// colIndex is one collection's index state on this replica.
type colIndex struct {
	// rw: searches and own changes share it, a rebuild (which drops and
	// refills the lexical index) takes it alone.
	rw sync.RWMutex
	// own orders own changes between their commit and the update of the
	// recorded generation and the cached vectors.
	own sync.Mutex

	mu     sync.Mutex
	loaded bool
	seen   store.Generation
	valid  bool // seen is set (false: unknown, rebuild)
}

type freshness struct {
	mu   sync.Mutex
	cols map[string]*colIndex
}

func (f *freshness) get(tenant, collection string) *colIndex {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cols == nil {
		f.cols = map[string]*colIndex{}
	}
	k := tenant + "\x00" + collection
	c, ok := f.cols[k]
	if !ok {
		c = &colIndex{}
		f.cols[k] = c
	}
	return c
}

func (f *freshness) forget(tenant, collection string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cols, tenant+"\x00"+collection)
}

func (f *freshness) forgetTenant(tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.cols {
		if strings.HasPrefix(k, tenant+"\x00") {
			delete(f.cols, k)
		}
	}
}

func parseGeneration(s string) (store.Generation, bool) {
	e, n, ok := strings.Cut(s, ".")
	if !ok {
		return store.Generation{}, false
	}
	epoch, err1 := strconv.ParseInt(e, 10, 64)
	num, err2 := strconv.ParseInt(n, 10, 64)
	if err1 != nil || err2 != nil {
		return store.Generation{}, false
	}
	return store.Generation{Epoch: epoch, N: num}, true
}

// state returns what the collection's indexes hold, reading the lexical
// index's record on first use.
func (s *Service) state(c *colIndex, tenant, collection string) (store.Generation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.loaded = true
		if g, err := s.o.Lexical.Generation(tenant, collection); err == nil {
			c.seen, c.valid = parseGeneration(g)
		}
	}
	return c.seen, c.valid
}

func (s *Service) setState(c *colIndex, tenant, collection string, g store.Generation) {
	c.mu.Lock()
	c.loaded, c.seen, c.valid = true, g, true
	c.mu.Unlock()
	if err := s.o.Lexical.SetGeneration(tenant, collection, g.String()); err != nil {
		s.log.Warn("record lexical index generation", "tenant", tenant, "collection", collection, "err", err)
	}
}

// current reports whether indexes at held serve a collection at g.
func current(held store.Generation, valid bool, g store.Generation) bool {
	return valid && held.Epoch == g.Epoch && held.N >= g.N
}

// fresh makes sure this replica's indexes of col hold at least its
// generation (rebuilding them from the chunks otherwise) and returns with
// the collection's index shared-locked; call the returned release after
// the search.
func (s *Service) fresh(ctx context.Context, key *keyring.Key, col store.Collection) (release func(), err error) {
	c := s.cols.get(col.Tenant, col.Name)
	c.rw.RLock()
	if held, ok := s.state(c, col.Tenant, col.Name); current(held, ok, col.Generation) {
		return c.rw.RUnlock, nil
	}
	c.rw.RUnlock()
	c.rw.Lock()
	if held, ok := s.state(c, col.Tenant, col.Name); !current(held, ok, col.Generation) {
		if err := s.rebuild(ctx, key, col); err != nil {
			c.rw.Unlock()
			return nil, err
		}
		s.setState(c, col.Tenant, col.Name, col.Generation)
	}
	c.rw.Unlock()
	c.rw.RLock()
	return c.rw.RUnlock, nil
}

// rebuild refills the collection's lexical index from its sealed chunks
// and drops its cached vectors. The chunks are read after the generation
// was, so the index holds at least that generation's chunks.
func (s *Service) rebuild(ctx context.Context, key *keyring.Key, col store.Collection) error {
	s.o.Vectors.Invalidate(col.Tenant, col.Name)
	chunks, err := s.o.Store.CollectionChunks(ctx, col.Tenant, col.Name)
	if err != nil {
		return err
	}
	if err := s.o.Lexical.DropCollection(col.Tenant, col.Name); err != nil {
		return fmt.Errorf("rebuild lexical index: %w", err)
	}
	titles := map[string]string{}
	entries := make([]index.Entry, 0, min(len(chunks), 512))
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		err := s.o.Lexical.Index(col.Tenant, col.Name, entries)
		entries = entries[:0]
		return err
	}
	for _, ch := range chunks {
		id := chunkID(ch.DocumentID, ch.Seq)
		text, err := key.Open(kindText, id, ch.Text)
		if err != nil {
			return err
		}
		title, ok := titles[ch.DocumentID]
		if !ok && ch.Title != nil {
			t, err := key.Open(kindTitle, ch.DocumentID, ch.Title)
			if err != nil {
				return err
			}
			title = string(t)
			titles[ch.DocumentID] = title
		}
		// the same text as at ingestion (withContext)
		entries = append(entries, index.Entry{ID: id, Text: withContext(title, string(text))})
		if len(entries) == cap(entries) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "rebuilt a collection's search index from the database (changed by another replica, or first use)",
		"tenant", col.Tenant, "collection", col.Name, "chunks", len(chunks))
	return nil
}

// change runs an own change of a collection's chunks (its lexical index
// edits and the commit returning the new generation) shared-locked against
// rebuilds, and records the new generation when the indexes were at the
// one just before it. Then, and only then, vectors (if not nil) applies
// the change to the cached vectors in place (ADR 0028: a large
// collection's graph grows instead of being rebuilt); otherwise they are
// dropped and the next search reloads them. Own changes pass this point
// one at a time, so in-place updates follow the generation order.
func (s *Service) change(tenant, collection string, fn func() (store.Generation, error), vectors func()) error {
	c := s.cols.get(tenant, collection)
	c.rw.RLock()
	defer c.rw.RUnlock()
	g, err := fn()
	if err != nil {
		return err
	}
	c.own.Lock()
	defer c.own.Unlock()
	held, ok := s.state(c, tenant, collection)
	if ok && held.Epoch == g.Epoch && held.N == g.N-1 {
		if vectors != nil {
			vectors()
		} else {
			s.o.Vectors.Invalidate(tenant, collection)
		}
		s.setState(c, tenant, collection, g)
		return nil
	}
	s.o.Vectors.Invalidate(tenant, collection)
	return nil
}
