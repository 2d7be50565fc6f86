-- +goose Up
CREATE INDEX keys_tenant_id ON keys (tenant_id);

-- +goose Down
DROP INDEX keys_tenant_id;
