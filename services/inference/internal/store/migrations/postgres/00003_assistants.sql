-- +goose Up
-- Assistants: a tenant's model names bound to a registry chat model,
-- collections to retrieve from, a system prompt and retrieval settings
-- (docs/adr/0016-assistants.md). collections is a JSON array of names.
CREATE TABLE assistants (
    tenant_id     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    collections   TEXT    NOT NULL,
    system_prompt TEXT    NOT NULL,
    top_k         INTEGER NOT NULL,
    min_score     DOUBLE PRECISION NOT NULL,
    description   TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- +goose Down
DROP TABLE assistants;
