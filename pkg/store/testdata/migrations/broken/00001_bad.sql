-- +goose Up
CREATE TABLE ok (id INTEGER PRIMARY KEY);
CREATE TABEL typo (id INTEGER);

-- +goose Down
DROP TABLE ok;
