-- +goose Up
-- Channel threads the bot has answered in (ADR 0128): a plain reply in
-- one of them (a `message` event, no mention) is answered with the thread
-- as history; a reply in any other thread is not the bot's business. Keyed
-- by the thread's root ts. tenant_id is the tenant the bot answered as: a
-- workspace installed for another tenant since does not continue the first
-- tenant's threads without a mention. Each answer in the thread renews
-- expires_at_ms (Unix ms); expired rows are purged with the other marks.
CREATE TABLE bot_threads (
    team_id       TEXT   NOT NULL,
    channel_id    TEXT   NOT NULL,
    thread_ts     TEXT   NOT NULL,
    tenant_id     TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel_id, thread_ts)
);
CREATE INDEX bot_threads_expiry ON bot_threads (expires_at_ms);
CREATE INDEX bot_threads_tenant ON bot_threads (tenant_id);

-- +goose Down
DROP TABLE bot_threads;
