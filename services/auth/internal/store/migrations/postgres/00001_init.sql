-- +goose Up
CREATE TABLE meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);

CREATE TABLE tenants (
  tenant_id  TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  state      BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT NOT NULL DEFAULT 0,
  purge_at   BIGINT NOT NULL DEFAULT 0,
  purged     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE members (
  member_id  TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id),
  subject    TEXT NOT NULL,
  kind       BIGINT NOT NULL,
  role       BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (tenant_id, subject)
);

CREATE TABLE api_keys (
  key_id            TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id),
  salt              BYTEA NOT NULL,
  hash              BYTEA NOT NULL,
  name              TEXT NOT NULL,
  subject           TEXT NOT NULL,
  scopes            TEXT NOT NULL,
  allowed_models    TEXT NOT NULL,
  allowed_endpoints TEXT NOT NULL,
  limits            TEXT NOT NULL,
  state             BIGINT NOT NULL,
  created_at        BIGINT NOT NULL,
  expires_at        BIGINT NOT NULL,
  last_used_at      BIGINT NOT NULL DEFAULT 0,
  replaced_by       TEXT NOT NULL DEFAULT '',
  revoked_at        BIGINT NOT NULL DEFAULT 0,
  created_by        TEXT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, key_id);
CREATE INDEX api_keys_expiry ON api_keys (state, expires_at);

CREATE TABLE events (
  id        BIGSERIAL PRIMARY KEY,
  kind      TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key_id    TEXT NOT NULL,
  at        BIGINT NOT NULL
);

CREATE TABLE audit_log (
  id         BIGSERIAL PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  seq        BIGINT NOT NULL,
  at         BIGINT NOT NULL,
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
  public_key  BYTEA NOT NULL,
  sealed_key  BYTEA NOT NULL,
  created_at  BIGINT NOT NULL,
  not_after   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE audit_log;
DROP TABLE events;
DROP TABLE api_keys;
DROP TABLE members;
DROP TABLE tenants;
DROP TABLE meta;
