-- +goose Up
-- Several replicas on one database (issue 16, ADR 0026).
--
-- Jobs are claimed, not assigned: a replica takes a job by setting
-- lease_holder (a token unique to that claim) and lease_expires (Unix ns);
-- it renews the lease while it works, and every write of the job's outcome
-- is fenced on the token, so a replica whose lease expired (it died or
-- stalled) can no longer commit once another replica has retaken the job.
-- not_before delays a retry (embedding model unavailable); attempts counts
-- those runs across replicas.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- A job is unfinished exactly while it still has its payload.
CREATE INDEX jobs_claimable ON jobs (created_at) WHERE payload IS NOT NULL;

-- generation counts the changes of a collection's chunks (documents
-- committed or deleted, vectors re-embedded); it is bumped in the
-- transaction that makes the change. A replica's in-memory and local-disk
-- search indexes remember the generation they were built at and are
-- rebuilt from the sealed chunks when a search finds another.
ALTER TABLE collections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE collections DROP COLUMN generation;
DROP INDEX jobs_claimable;
ALTER TABLE jobs DROP COLUMN attempts;
ALTER TABLE jobs DROP COLUMN not_before;
ALTER TABLE jobs DROP COLUMN lease_expires;
ALTER TABLE jobs DROP COLUMN lease_holder;
