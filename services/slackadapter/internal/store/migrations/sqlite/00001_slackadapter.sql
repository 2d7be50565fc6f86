-- +goose Up
-- Slack event ids already accepted (dedupe of Slack's retries), with expiry.
CREATE TABLE seen_events (
    team_id       TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (team_id, event_id)
);
CREATE INDEX seen_events_expiry ON seen_events (expires_at_ms);

-- One row per installed workspace (or Enterprise Grid org). Tokens live in
-- keyvault under secret_name; this is metadata only.
CREATE TABLE installations (
    team_id          TEXT    NOT NULL PRIMARY KEY,
    enterprise_id    TEXT    NOT NULL DEFAULT '',
    tenant_id        TEXT    NOT NULL,
    team_name        TEXT    NOT NULL DEFAULT '',
    bot_user_id      TEXT    NOT NULL DEFAULT '',
    secret_name      TEXT    NOT NULL,
    token_expires_at INTEGER NOT NULL DEFAULT 0,
    installed_at     INTEGER NOT NULL
);
CREATE INDEX installations_tenant ON installations (tenant_id);
CREATE INDEX installations_enterprise ON installations (enterprise_id);

-- The dedicated Rampart API key (scope chat:write) the adapter acts as for
-- each tenant, sealed with AES-256-GCM under the local key-encryption key
-- (AAD = tenant id). See docs/adr/0011-slack-adapter-principal.md.
CREATE TABLE tenant_keys (
    tenant_id  TEXT    NOT NULL PRIMARY KEY,
    key_id     TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- The Slack app: which tenant owns it and where its credentials are.
CREATE TABLE app (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tenant_id   TEXT    NOT NULL,
    secret_name TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Outstanding OAuth states (single use).
CREATE TABLE oauth_states (
    nonce         TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

-- +goose Down
DROP TABLE oauth_states;
DROP TABLE app;
DROP TABLE tenant_keys;
DROP TABLE installations;
DROP TABLE seen_events;
