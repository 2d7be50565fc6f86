-- +goose Up
CREATE TABLE tenants (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE keys (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash      BYTEA NOT NULL,
    note      TEXT
);

-- +goose Down
DROP TABLE keys;
DROP TABLE tenants;
