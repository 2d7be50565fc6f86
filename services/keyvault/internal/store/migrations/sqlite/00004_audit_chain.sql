-- +goose Up
-- The audit log as a hash chain in the database, so every replica appends
-- to one linear chain: record n stores hash(n-1) and its own hash over
-- (seq, prev_hash, record). Appends lock audit_head (one row), so two
-- writers can never fork the chain; UNIQUE (prev_hash) would refuse a fork
-- even if they could. Records never hold a secret value.
CREATE TABLE audit_chain (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL UNIQUE,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_chain;
