-- +goose Up
-- The SPIFFE ID of the service that created the secret for itself ('' when
-- a user's key created it through the edge or the CLI). Only that service
-- reads, changes or deletes the secret; others may describe it.
ALTER TABLE secrets ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE secrets DROP COLUMN owner;
