-- +goose Up
-- Nothing on SQLite: PostgreSQL's 00004 adds a NOTIFY trigger on events.
-- SQLite has no notifications; auth polls the event head with one prepared
-- statement per process instead (ADR 0039). Kept so both dialects share
-- version numbers.

-- +goose Down
