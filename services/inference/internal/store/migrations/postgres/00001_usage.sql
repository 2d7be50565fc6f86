-- +goose Up
CREATE TABLE usage_records (
    id                BIGSERIAL PRIMARY KEY,
    tenant_id         TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    request_id        TEXT    NOT NULL DEFAULT '',
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    estimated         BIGINT NOT NULL DEFAULT 0,
    latency_us        BIGINT NOT NULL,
    cost_micro_usd    BIGINT NOT NULL,
    created_at_ms     BIGINT NOT NULL
);
CREATE INDEX usage_records_tenant_time ON usage_records (tenant_id, created_at_ms);
CREATE INDEX usage_records_tenant_key_time ON usage_records (tenant_id, key_id, created_at_ms);

-- +goose Down
DROP TABLE usage_records;
