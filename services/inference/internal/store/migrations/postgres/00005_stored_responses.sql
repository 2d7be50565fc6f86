-- +goose Up
-- Stored Responses API responses (store: true): the request's input items
-- and the response object, sealed with the tenant's prompt-log data key
-- (prompt_log_keys; AES-256-GCM, AAD binds tenant and response id), so
-- previous_response_id and GET /v1/responses/{id} can read them back.
-- Purged by the retention sweeper with the tenant's prompt-log retention
-- (docs/adr/0036-stored-responses.md).
CREATE TABLE stored_responses (
    tenant_id     TEXT    NOT NULL,
    response_id   TEXT    NOT NULL,
    sealed        BYTEA   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, response_id)
);
CREATE INDEX stored_responses_tenant_time ON stored_responses (tenant_id, created_at_ms);

-- +goose Down
DROP TABLE stored_responses;
