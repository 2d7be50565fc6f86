-- +goose Up
-- Tenant limits (RPM, TPM, monthly token budget, allowed models) as JSON;
-- every key of the tenant is narrowed by them.
ALTER TABLE tenants ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE tenants DROP COLUMN limits;
