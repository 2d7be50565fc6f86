-- +goose Up
-- PostgreSQL mirror of sqlite/00002: the operator-set Slack app (ADR 0013),
-- disabled installations, replay keys of signed requests and bindings.
DROP TABLE app;
CREATE TABLE slack_app (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    client_id  TEXT    NOT NULL,
    sealed     BYTEA   NOT NULL,
    updated_at BIGINT  NOT NULL
);

ALTER TABLE installations ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;

-- Signed requests already accepted: a replayed slash command is refused by
-- this primary key (INSERT ... ON CONFLICT DO NOTHING), on every replica.
CREATE TABLE seen_signatures (
    signature     TEXT   NOT NULL PRIMARY KEY,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at_ms);

-- What a workspace (channel_id '') or one channel answers from; collections
-- is a JSON array kept as TEXT, as on SQLite.
CREATE TABLE bindings (
    team_id     TEXT   NOT NULL,
    channel_id  TEXT   NOT NULL DEFAULT '',
    tenant_id   TEXT   NOT NULL,
    assistant   TEXT   NOT NULL DEFAULT '',
    collections TEXT   NOT NULL DEFAULT '[]',
    updated_by  TEXT   NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id)
);
CREATE INDEX bindings_tenant ON bindings (tenant_id);

-- +goose Down
DROP TABLE bindings;
DROP TABLE seen_signatures;
ALTER TABLE installations DROP COLUMN disabled_at;
DROP TABLE slack_app;
CREATE TABLE app (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tenant_id   TEXT    NOT NULL,
    secret_name TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
