-- +goose Up
-- Links of the audit chain older than AUDIT_RETENTION are written to the
-- audit archive (AUDIT_ARCHIVE) and only then deleted from audit_chain.
-- This row is the last archived link: the chain left in the table starts
-- right after it, so verification starts from its seq and hash, and the
-- archive objects verify up to it.
CREATE TABLE audit_archived (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_archived (id, seq, hash) VALUES (1, 0, '');

-- +goose Down
DROP TABLE audit_archived;
