-- +goose Up
-- The document's extracted text, the text citation locations index
-- (docs/adr/0094), sealed with the tenant key (AAD: document id) and
-- written with the document's chunks. NULL: ingested before this
-- migration; GetDocumentText refuses such a document and adding its
-- content again re-chunks it.
ALTER TABLE documents ADD COLUMN text BLOB;

-- +goose Down
ALTER TABLE documents DROP COLUMN text;
