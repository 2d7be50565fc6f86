-- +goose Up
-- resource_hosts are the hosts (host or host:port, space-separated) a
-- connection's access token may be sent to (ADR 0064). '' (connections
-- from before this migration, or created without the field): the host of
-- the token endpoint.
ALTER TABLE connections ADD COLUMN resource_hosts TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN resource_hosts;
