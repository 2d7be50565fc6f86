-- +goose Up
-- Who authorized a connection (ADR 0118): the key id and subject of the
-- verified principal that created it. Only that subject's keys complete it
-- and ingest through it. '' (connections from before this migration): no
-- authorizer is known, so none may use it until it is connected again.
ALTER TABLE connections ADD COLUMN created_by_key TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN created_by_subject TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN created_by_subject;
ALTER TABLE connections DROP COLUMN created_by_key;
