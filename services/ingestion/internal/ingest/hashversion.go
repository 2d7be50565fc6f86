package ingest

import (
	"context"
	"errors"

	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// hashModel is the stored model id of the configured hash embedder's
// vectors.
func (s *Service) hashModel() string {
	if h, ok := s.o.Embedder.(embed.Hash); ok {
		return store.HashModelID(h.Algorithm())
	}
	return store.HashModelID(embed.HashVersion)
}

// hashCurrent reports whether col's vectors are the current hash
// embedder's (version and dimensions).
func (s *Service) hashCurrent(col store.Collection) bool {
	return col.EmbeddingModel == s.hashModel() && col.EmbeddingDims == s.o.Embedder.Dimensions()
}

// hashEmbedder is the embedder of a hash collection's vectors: the
// configured one when they are current, otherwise the version and
// dimensions they were made with, so queries stay comparable until the
// re-embed job (upgradeHash) commits.
func (s *Service) hashEmbedder(col store.Collection) embed.Embedder {
	if s.hashCurrent(col) {
		return s.o.Embedder
	}
	dims := col.EmbeddingDims
	if dims == 0 {
		dims = embed.LegacyDimensions
	}
	return embed.Hash{Dims: dims, Version: store.HashVersion(col.EmbeddingModel)}
}

// upgradeHash queues the re-embed job of a hash collection whose vectors
// are of an older version or other dimensions than the configured hash
// embedder's. It needs the tenant's key (the job's payload is sealed), so
// it runs on the tenant's own calls (search, ingestion), at most once per
// collection per process; a collection with a re-embed job pending is
// left alone.
func (s *Service) upgradeHash(ctx context.Context, key *keyring.Key, col store.Collection) {
	if store.HashVersion(col.EmbeddingModel) == 0 || s.hashCurrent(col) {
		return
	}
	if _, done := s.upgrades.LoadOrStore(col.Tenant+"\x00"+col.Name, true); done {
		return
	}
	id := newID("job_")
	j, err := s.o.Store.CreateReembedJob(ctx, col.Tenant, col.Name, id, key.Seal(kindPayload, id, []byte(s.hashModel())))
	switch {
	case errors.Is(err, store.ErrBusy):
		return
	case err != nil:
		s.upgrades.Delete(col.Tenant + "\x00" + col.Name)
		s.log.WarnContext(ctx, "queueing the hash embedding upgrade failed", "tenant", col.Tenant, "collection", col.Name, "err", err)
		return
	}
	s.log.InfoContext(ctx, "re-embedding a collection with the current hash embedder", "tenant", col.Tenant, "collection", col.Name,
		"from", col.EmbeddingModel, "to", s.hashModel(), "job", j.ID)
	s.enqueue(jobRef{tenant: col.Tenant, id: j.ID, collection: col.Name})
}
