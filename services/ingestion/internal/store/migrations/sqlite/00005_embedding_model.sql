-- +goose Up
-- Each collection records the embedding model of its vectors (issue 12,
-- Deliver 3): rampart-hash-embed (local feature hashing) or an embedding
-- model of inference's registry, and that model's dimensions (0: the hash
-- embedder's configured default).
ALTER TABLE collections ADD COLUMN embedding_model TEXT NOT NULL DEFAULT 'rampart-hash-embed';
ALTER TABLE collections ADD COLUMN embedding_dims INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE collections DROP COLUMN embedding_dims;
ALTER TABLE collections DROP COLUMN embedding_model;
