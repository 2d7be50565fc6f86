-- +goose Up
-- The key whose monthly budget counter a key draws from ('' = itself):
-- a rotation's replacement and a key minted by a budgeted key share it.
ALTER TABLE api_keys ADD COLUMN budget_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN budget_key;
