-- +goose Up
-- PostgreSQL mirror of sqlite/00001 (same tables, keys and indexes; times
-- are BIGINT Unix seconds or milliseconds, blobs BYTEA). The primary keys
-- are what make event dedupe and OAuth state single use hold across
-- replicas sharing the database.

-- Slack event ids already accepted (dedupe of Slack's retries), with expiry.
CREATE TABLE seen_events (
    team_id       TEXT   NOT NULL,
    event_id      TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (team_id, event_id)
);
CREATE INDEX seen_events_expiry ON seen_events (expires_at_ms);

-- One row per installed workspace (or Enterprise Grid org). Tokens live in
-- keyvault under secret_name; this is metadata only.
CREATE TABLE installations (
    team_id          TEXT   NOT NULL PRIMARY KEY,
    enterprise_id    TEXT   NOT NULL DEFAULT '',
    tenant_id        TEXT   NOT NULL,
    team_name        TEXT   NOT NULL DEFAULT '',
    bot_user_id      TEXT   NOT NULL DEFAULT '',
    secret_name      TEXT   NOT NULL,
    token_expires_at BIGINT NOT NULL DEFAULT 0,
    installed_at     BIGINT NOT NULL
);
CREATE INDEX installations_tenant ON installations (tenant_id);
CREATE INDEX installations_enterprise ON installations (enterprise_id);

-- The dedicated Rampart API key the adapter acts as for each tenant,
-- sealed under the local key-encryption key (ADR 0011).
CREATE TABLE tenant_keys (
    tenant_id  TEXT   NOT NULL PRIMARY KEY,
    key_id     TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- The Slack app (replaced by slack_app in 00002, kept so both dialects
-- walk the same migration history).
CREATE TABLE app (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tenant_id   TEXT    NOT NULL,
    secret_name TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Outstanding OAuth states (single use: DELETE ... RETURNING).
CREATE TABLE oauth_states (
    nonce         TEXT   NOT NULL PRIMARY KEY,
    tenant_id     TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- +goose Down
DROP TABLE oauth_states;
DROP TABLE app;
DROP TABLE tenant_keys;
DROP TABLE installations;
DROP TABLE seen_events;
