-- +goose Up
CREATE TABLE usage_records (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id         TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    request_id        TEXT    NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    estimated         INTEGER NOT NULL DEFAULT 0,
    latency_us        INTEGER NOT NULL,
    cost_micro_usd    INTEGER NOT NULL,
    created_at_ms     INTEGER NOT NULL
);
CREATE INDEX usage_records_tenant_time ON usage_records (tenant_id, created_at_ms);
CREATE INDEX usage_records_tenant_key_time ON usage_records (tenant_id, key_id, created_at_ms);

-- +goose Down
DROP TABLE usage_records;
