-- +goose Up
-- Citation locations (docs/adr/0085): where each sentence of a chunk is in
-- its document (character offsets, lines, pages), sealed with the tenant
-- key like the chunk's text. NULL: ingested before this migration; such a
-- chunk is cited without a location until its document is ingested again.
ALTER TABLE chunks ADD COLUMN location BYTEA;

-- +goose Down
ALTER TABLE chunks DROP COLUMN location;
