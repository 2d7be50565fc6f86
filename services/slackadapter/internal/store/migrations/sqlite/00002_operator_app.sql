-- +goose Up
-- The Slack app is deployment configuration set by the platform operator
-- (ADR 0013): its credentials are sealed with the adapter's key-encryption
-- key (AES-256-GCM, AAD "slack-app") here, no longer kept in one tenant's
-- keyvault namespace, so deleting any tenant cannot break Slack for the
-- others. The former tenant-owned record is dropped: the operator sets the
-- app again with `rampart slack app set`.
DROP TABLE app;
CREATE TABLE slack_app (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    client_id  TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- An installation is disabled (not deleted) on app_uninstalled or
-- tokens_revoked: its token is deleted from keyvault and its events are
-- dropped until a tenant admin installs the workspace again.
ALTER TABLE installations ADD COLUMN disabled_at INTEGER NOT NULL DEFAULT 0;

-- Signed requests already accepted, by signature (which covers the
-- timestamp), kept for the signature's validity window: a replayed slash
-- command is refused by this primary key, on every replica sharing the
-- database.
CREATE TABLE seen_signatures (
    signature     TEXT    NOT NULL PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at_ms);

-- What a workspace (channel_id '') or one channel answers from: a tenant
-- assistant (model name) or a list of collections (JSON array). Set by a
-- tenant admin (REST/CLI) or a workspace admin (/rampart kb use).
CREATE TABLE bindings (
    team_id     TEXT    NOT NULL,
    channel_id  TEXT    NOT NULL DEFAULT '',
    tenant_id   TEXT    NOT NULL,
    assistant   TEXT    NOT NULL DEFAULT '',
    collections TEXT    NOT NULL DEFAULT '[]',
    updated_by  TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
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
    updated_at  INTEGER NOT NULL
);
