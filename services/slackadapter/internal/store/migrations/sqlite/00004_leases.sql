-- +goose Up
-- Work that must run on one replica at a time, such as refreshing a
-- workspace's rotating bot token (Slack refresh tokens are single use:
-- two replicas refreshing at once would leave one with a dead token).
-- A lease is held by holder until expires_at_ms (Unix ms) and may be taken
-- over once it expired (the holder died).
CREATE TABLE leases (
    name          TEXT   NOT NULL PRIMARY KEY,
    holder        TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
