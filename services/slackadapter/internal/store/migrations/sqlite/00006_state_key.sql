-- +goose Up
-- The key of the admin who asked for an install link (ADR 0118): when
-- auth revokes or changes that key (a demotion, a removal), the adapter
-- drops the link's pending state, so the link no longer installs.
-- '' (states from before): bound to the tenant alone, as before.
ALTER TABLE oauth_states ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_states DROP COLUMN key_id;
