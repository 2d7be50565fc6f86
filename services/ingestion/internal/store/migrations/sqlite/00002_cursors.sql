-- +goose Up
CREATE TABLE stream_cursors (
  name TEXT PRIMARY KEY,
  cursor INTEGER NOT NULL
);

-- +goose Down
DROP TABLE stream_cursors;
