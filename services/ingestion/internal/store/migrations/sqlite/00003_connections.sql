-- +goose Up
-- OAuth2 data sources. Secrets (client secret, tokens) are in keyvault; the
-- PKCE verifier is sealed with the tenant key; only the state's SHA-256 is
-- kept.
CREATE TABLE connections (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  authorization_endpoint TEXT NOT NULL,
  token_endpoint TEXT NOT NULL,
  revocation_endpoint TEXT NOT NULL DEFAULT '',
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '',
  redirect_uri TEXT NOT NULL,
  state_hash BLOB,
  verifier BLOB,
  status INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
);

ALTER TABLE documents ADD COLUMN connection_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE documents DROP COLUMN connection_id;
DROP TABLE connections;
