-- +goose Up
-- PostgreSQL mirror of sqlite/00001 (same tables, keys and indexes; times
-- are BIGINT Unix nanoseconds, blobs BYTEA).
CREATE TABLE tenant_keys (
  tenant TEXT PRIMARY KEY,
  wrapped BYTEA NOT NULL,
  kms_key_id TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE collections (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, name)
);

-- content_mac is HMAC-SHA256 of the content under a key derived from the
-- tenant's data key; source is sealed.
CREATE TABLE documents (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  collection TEXT NOT NULL,
  content_mac BYTEA NOT NULL,
  source BYTEA NOT NULL,
  content_type TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, collection, content_mac),
  FOREIGN KEY (tenant, collection) REFERENCES collections (tenant, name) ON DELETE CASCADE
);

CREATE TABLE chunks (
  tenant TEXT NOT NULL,
  document_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  collection TEXT NOT NULL,
  text BYTEA NOT NULL,
  vector BYTEA NOT NULL,
  PRIMARY KEY (tenant, document_id, seq),
  FOREIGN KEY (tenant, document_id) REFERENCES documents (tenant, id) ON DELETE CASCADE
);
CREATE INDEX chunks_by_collection ON chunks (tenant, collection);

-- payload is the sealed document content, kept only until the job ends.
CREATE TABLE jobs (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  collection TEXT NOT NULL,
  state INTEGER NOT NULL,
  chunks_done INTEGER NOT NULL DEFAULT 0,
  chunks_total INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  payload BYTEA,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, collection) REFERENCES collections (tenant, name) ON DELETE CASCADE
);
CREATE INDEX jobs_by_time ON jobs (tenant, created_at);
CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN (1, 2);

-- +goose Down
DROP TABLE jobs;
DROP TABLE chunks;
DROP TABLE documents;
DROP TABLE collections;
DROP TABLE tenant_keys;
