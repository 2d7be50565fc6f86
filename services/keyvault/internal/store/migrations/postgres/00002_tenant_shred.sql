-- +goose Up
-- Tenants whose keys were destroyed (crypto-shred); kept so a shred is
-- reported once and never silently undone.
CREATE TABLE shredded_tenants (
    tenant_id   TEXT PRIMARY KEY,
    shredded_at BIGINT NOT NULL
);

-- Resume points of event streams keyvault follows (auth's tenant events).
CREATE TABLE stream_cursors (
    name   TEXT PRIMARY KEY,
    cursor BIGINT NOT NULL
);

-- +goose Down
DROP TABLE stream_cursors;
DROP TABLE shredded_tenants;
