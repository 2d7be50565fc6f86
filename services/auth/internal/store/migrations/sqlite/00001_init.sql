-- +goose Up
CREATE TABLE meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);

CREATE TABLE tenants (
  tenant_id  TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  state      INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER NOT NULL DEFAULT 0,
  purge_at   INTEGER NOT NULL DEFAULT 0,
  purged     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
  member_id  TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id),
  subject    TEXT NOT NULL,
  kind       INTEGER NOT NULL,
  role       INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (tenant_id, subject)
);

CREATE TABLE api_keys (
  key_id            TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id),
  salt              BLOB NOT NULL,
  hash              BLOB NOT NULL,
  name              TEXT NOT NULL,
  subject           TEXT NOT NULL,
  scopes            TEXT NOT NULL,
  allowed_models    TEXT NOT NULL,
  allowed_endpoints TEXT NOT NULL,
  limits            TEXT NOT NULL,
  state             INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  last_used_at      INTEGER NOT NULL DEFAULT 0,
  replaced_by       TEXT NOT NULL DEFAULT '',
  revoked_at        INTEGER NOT NULL DEFAULT 0,
  created_by        TEXT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, key_id);
CREATE INDEX api_keys_expiry ON api_keys (state, expires_at);

CREATE TABLE events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  kind      TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key_id    TEXT NOT NULL,
  at        INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id  TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,
  result     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  source_ip  TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL,
  UNIQUE (tenant_id, seq)
);

CREATE TABLE signing_keys (
  kid         TEXT PRIMARY KEY,
  public_key  BLOB NOT NULL,
  sealed_key  BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  not_after   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE audit_log;
DROP TABLE events;
DROP TABLE api_keys;
DROP TABLE members;
DROP TABLE tenants;
DROP TABLE meta;
