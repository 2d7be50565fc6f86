-- +goose Up
-- Usage retention (issue 16): raw usage_records older than the raw
-- retention are summed into hourly rows here, hourly rows older than the
-- hourly retention into daily rows (bucket_ms says which), and the source
-- rows deleted in the same transaction. Usage queries read both tables.
CREATE TABLE usage_rollups (
    id                 BIGSERIAL PRIMARY KEY,
    tenant_id          TEXT    NOT NULL,
    key_id             TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    bucket_ms          BIGINT  NOT NULL,
    bucket_start_ms    BIGINT  NOT NULL,
    requests           BIGINT  NOT NULL,
    prompt_tokens      BIGINT  NOT NULL,
    completion_tokens  BIGINT  NOT NULL,
    estimated_requests BIGINT  NOT NULL,
    latency_us         BIGINT  NOT NULL,
    cost_micro_usd     BIGINT  NOT NULL
);
CREATE UNIQUE INDEX usage_rollups_bucket ON usage_rollups (tenant_id, key_id, model, bucket_ms, bucket_start_ms);
CREATE INDEX usage_rollups_tenant_time ON usage_rollups (tenant_id, bucket_start_ms);
CREATE INDEX usage_rollups_sweep ON usage_rollups (bucket_ms, bucket_start_ms);
-- One row per periodic job: the replica holding an unexpired lease runs it.
CREATE TABLE sweep_leases (
    name          TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at_ms BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE sweep_leases;
DROP TABLE usage_rollups;
