-- +goose Up
-- source_mac is HMAC-SHA256 of a document's identity within its collection
-- (a crawled page's URL, a fetched URL or a named upload; see
-- ingest.sourceIdentity) under the tenant's MAC key, like content_mac: a
-- new version of the same source replaces the old one when its job
-- commits. NULL: no identity (an unnamed upload, or a document from before
-- this migration).
ALTER TABLE documents ADD COLUMN source_mac BLOB;
CREATE INDEX documents_by_source ON documents (tenant, collection, source_mac) WHERE source_mac IS NOT NULL;

-- +goose Down
DROP INDEX documents_by_source;
ALTER TABLE documents DROP COLUMN source_mac;
