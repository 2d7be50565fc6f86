-- +goose Up
-- Prompt logging (off unless the registry enables it for a tenant). The
-- request and response are sealed with the tenant's data key (AES-256-GCM,
-- AAD = tenant ‖ request id); prompt_log_keys holds that key wrapped by
-- keyvault's KMS, never in plaintext.
CREATE TABLE prompt_log_keys (
    tenant_id     TEXT    PRIMARY KEY,
    wrapped_key   BYTEA   NOT NULL,
    kms_key_id    TEXT    NOT NULL,
    created_at_ms BIGINT  NOT NULL
);
CREATE TABLE prompt_logs (
    id            BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    request_id    TEXT    NOT NULL,
    key_id        TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    endpoint      TEXT    NOT NULL,
    sealed        BYTEA   NOT NULL,
    created_at_ms BIGINT  NOT NULL
);
CREATE INDEX prompt_logs_tenant_time ON prompt_logs (tenant_id, created_at_ms, id);
CREATE INDEX prompt_logs_tenant_request ON prompt_logs (tenant_id, request_id);

-- +goose Down
DROP TABLE prompt_logs;
DROP TABLE prompt_log_keys;
