-- +goose Up
-- Job kinds: '' for jobs from before this migration (an ingest job when
-- document_id is set, else a re-embed job), 'ingest', 'reembed', 'crawl'.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT '';
-- A crawl's page ingest jobs name the crawl job.
ALTER TABLE jobs ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
-- Crawl jobs: pages fetched so far and the crawl's page limit.
ALTER TABLE jobs ADD COLUMN pages_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN pages_max INTEGER NOT NULL DEFAULT 0;
-- Crawl jobs: counts of what the crawl did (no URLs, no content).
ALTER TABLE jobs ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_by_parent ON jobs (tenant, parent_id) WHERE parent_id != '';

-- +goose Down
DROP INDEX jobs_by_parent;
ALTER TABLE jobs DROP COLUMN detail;
ALTER TABLE jobs DROP COLUMN pages_max;
ALTER TABLE jobs DROP COLUMN pages_done;
ALTER TABLE jobs DROP COLUMN parent_id;
ALTER TABLE jobs DROP COLUMN kind;
