-- +goose Up
-- PostgreSQL mirror of sqlite/00003: position in auth's tenant event stream.
CREATE TABLE stream_cursors (
    name   TEXT   NOT NULL PRIMARY KEY,
    cursor BIGINT NOT NULL
);

-- +goose Down
DROP TABLE stream_cursors;
