-- +goose Up
-- The crypto-shreds in the order they were made, for WatchShreds (ADR
-- 0084): ingestion and inference follow them to drop the tenant's cached
-- data keys at once. One row per tenant (its first shred); AUTOINCREMENT
-- never reuses a seq, and the write lock makes seq order commit order.
CREATE TABLE shred_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL UNIQUE,
    shredded_at INTEGER NOT NULL
);
INSERT INTO shred_events (tenant_id, shredded_at)
    SELECT tenant_id, shredded_at FROM shredded_tenants ORDER BY shredded_at, tenant_id;

-- +goose Down
DROP TABLE shred_events;
