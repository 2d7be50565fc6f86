-- +goose Up
-- Mirrors migrations/sqlite/00001_init.sql: times are Unix nanoseconds
-- (BIGINT, 0 = unset), flags are 0/1 INTEGERs, so both dialects scan alike.
CREATE TABLE secrets (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    name                TEXT NOT NULL,
    arn                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    kms_key_id          TEXT NOT NULL DEFAULT '',
    content_type        INTEGER NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL,
    last_changed_at     BIGINT NOT NULL,
    last_accessed_at    BIGINT NOT NULL DEFAULT 0,
    deleted_at          BIGINT NOT NULL DEFAULT 0,
    rotation_enabled    INTEGER NOT NULL DEFAULT 0,
    rotation_schedule   TEXT NOT NULL DEFAULT '',
    rotation_function   TEXT NOT NULL DEFAULT '',
    last_rotated_at     BIGINT NOT NULL DEFAULT 0,
    next_rotation_at    BIGINT NOT NULL DEFAULT 0,
    rotation_version_id TEXT NOT NULL DEFAULT '',
    rotation_step       INTEGER NOT NULL DEFAULT 0,
    rotation_error      TEXT NOT NULL DEFAULT '',
    rotation_failures   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, name)
);
CREATE INDEX secrets_due ON secrets (rotation_enabled, next_rotation_at);
CREATE INDEX secrets_deleted ON secrets (deleted_at);

CREATE TABLE secret_tags (
    tenant_id TEXT NOT NULL,
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (secret_id, key)
);

CREATE TABLE secret_versions (
    tenant_id  TEXT NOT NULL,
    secret_id  TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    is_binary  INTEGER NOT NULL,
    dek_id     TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    PRIMARY KEY (secret_id, version_id),
    -- Writers of one secret are serialised by its row lock; this makes a
    -- lost lock a conflict instead of two versions with one number.
    UNIQUE (secret_id, seq)
);

CREATE TABLE version_stages (
    tenant_id  TEXT NOT NULL,
    secret_id  TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_id, stage),
    FOREIGN KEY (secret_id, version_id) REFERENCES secret_versions (secret_id, version_id) ON DELETE CASCADE
);
CREATE INDEX version_stages_version ON version_stages (secret_id, version_id);

CREATE TABLE tenant_deks (
    tenant_id  TEXT NOT NULL,
    dek_id     TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    wrapped    BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, dek_id),
    -- Two replicas making a tenant's first data key at once: one wins.
    UNIQUE (tenant_id, seq)
);

CREATE TABLE kms_keks (
    tenant_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    master_version INTEGER NOT NULL,
    wrapped        BYTEA,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE kms_keks;
DROP TABLE tenant_deks;
DROP TABLE version_stages;
DROP TABLE secret_versions;
DROP TABLE secret_tags;
DROP TABLE secrets;
