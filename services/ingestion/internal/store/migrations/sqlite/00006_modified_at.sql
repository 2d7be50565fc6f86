-- +goose Up
-- When the document says it was last modified (PDF /ModDate, DOCX
-- dcterms:modified), for citations; NULL: it does not say (the citation
-- then shows when this version was ingested). A timestamp, not content.
ALTER TABLE documents ADD COLUMN modified_at INTEGER;

-- +goose Down
ALTER TABLE documents DROP COLUMN modified_at;
