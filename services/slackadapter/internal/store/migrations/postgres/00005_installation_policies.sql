-- +goose Up
-- What Slack users may do with a tenant's workspace, set by tenant admins
-- (ADR 0097): the assistants and collections `/rampart kb use` may bind
-- (JSON arrays; none without a row) and whether users of other
-- organisations (Slack Connect) are answered (not without a row).
CREATE TABLE installation_policies (
    team_id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id            TEXT    NOT NULL,
    bindable_assistants  TEXT    NOT NULL DEFAULT '[]',
    bindable_collections TEXT    NOT NULL DEFAULT '[]',
    allow_external_users INTEGER NOT NULL DEFAULT 0,
    updated_by           TEXT    NOT NULL DEFAULT '',
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX installation_policies_tenant ON installation_policies (tenant_id);

-- +goose Down
DROP TABLE installation_policies;
