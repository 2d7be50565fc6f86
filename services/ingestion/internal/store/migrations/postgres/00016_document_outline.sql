-- +goose Up
-- The outline of an HTML, PDF or DOCX document's extracted text (its
-- title, and each section's headings, offset and page; extract.Outline),
-- sealed with the tenant key (AAD: document id) and written with the text.
-- Their text is the sections' texts joined, without the headings the
-- section chunker cuts at: with the outline they are re-chunked after a
-- chunker upgrade like plain text and Markdown (ADR 0133). NULL: plain
-- text and Markdown (the text is the file), or written before this
-- migration (kept until the content is added again).
ALTER TABLE documents ADD COLUMN outline BYTEA;

-- +goose Down
ALTER TABLE documents DROP COLUMN outline;
