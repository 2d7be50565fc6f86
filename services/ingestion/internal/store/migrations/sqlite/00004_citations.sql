-- +goose Up
-- Citation context: the document's title and each chunk's heading path,
-- both sealed with the tenant key like text and source (NULL: none, or
-- ingested before this migration).
ALTER TABLE documents ADD COLUMN title BLOB;
ALTER TABLE chunks ADD COLUMN heading BLOB;

-- +goose Down
ALTER TABLE chunks DROP COLUMN heading;
ALTER TABLE documents DROP COLUMN title;
