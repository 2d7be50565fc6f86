-- +goose Up
CREATE TABLE tenant_keys (
  tenant TEXT PRIMARY KEY,
  wrapped BLOB NOT NULL,
  kms_key_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE collections (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, name)
);

-- content_mac is HMAC-SHA256 of the content under a key derived from the
-- tenant's data key (no cross-tenant or offline "is this file here" test);
-- source is sealed (file names and URLs can be sensitive).
CREATE TABLE documents (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  collection TEXT NOT NULL,
  content_mac BLOB NOT NULL,
  source BLOB NOT NULL,
  content_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, collection, content_mac),
  FOREIGN KEY (tenant, collection) REFERENCES collections (tenant, name) ON DELETE CASCADE
);

CREATE TABLE chunks (
  tenant TEXT NOT NULL,
  document_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  collection TEXT NOT NULL,
  text BLOB NOT NULL,
  vector BLOB NOT NULL,
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
  payload BLOB,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
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
