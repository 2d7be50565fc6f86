-- +goose Up
-- The version of the chunker that cut a document's chunks (ADR 0127):
-- 1 the fixed windows before ADR 0119, 2 the section-aligned chunker.
-- Documents from before this migration were chunked by version 1 (some
-- ingested on the day ADR 0119 landed were chunked by 2: re-chunking them
-- again gives the same chunks). Ingestion re-chunks ready documents below
-- its current version from their stored text (kind 'rechunk' jobs).
-- (00014 is left to the connection migration of another branch.)
ALTER TABLE documents ADD COLUMN chunker INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE documents DROP COLUMN chunker;
