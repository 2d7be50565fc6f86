-- +goose Up
CREATE TABLE stream_cursors (
  name TEXT PRIMARY KEY,
  cursor BIGINT NOT NULL
);

-- +goose Down
DROP TABLE stream_cursors;
