-- +goose Up
-- The one capability a suspended tenant's workspace keeps (ADR 0137): the
-- bot's access token, sealed by the adapter under its key-encryption key
-- (AAD "suspension-notice:<tenant>:<team>"), opened only to post the
-- fixed "suspended" notice with chat.postEphemeral while the tenant's
-- keyvault (where the token and its refresh token live) cannot be read.
-- Written while the tenant is active and the installation live; deleted
-- with the installation (app_uninstalled, tokens_revoked, another tenant
-- taking the workspace over) and with the tenant. expires_at is the
-- access token's expiry (Unix s, 0: does not expire): a rotating token is
-- not used past it, and never refreshed from here.
CREATE TABLE notice_tokens (
    team_id    TEXT   NOT NULL PRIMARY KEY,
    tenant_id  TEXT   NOT NULL,
    sealed     BLOB   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX notice_tokens_tenant ON notice_tokens (tenant_id);

-- Bot tokens Slack revoked (app_uninstalled, tokens_revoked) that are
-- still to be deleted from the tenant's keyvault: recorded when the
-- installation is disabled, removed once keyvault deleted the secret. A
-- deletion that cannot happen at once (the tenant suspended, keyvault
-- down past Slack's retries) is retried by the maintenance task, so a
-- token no longer needed is not kept (ADR 0137).
CREATE TABLE token_deletions (
    team_id     TEXT   NOT NULL,
    tenant_id   TEXT   NOT NULL,
    secret_name TEXT   NOT NULL,
    since       BIGINT NOT NULL,
    PRIMARY KEY (team_id, tenant_id)
);

-- +goose Down
DROP TABLE token_deletions;
DROP TABLE notice_tokens;
