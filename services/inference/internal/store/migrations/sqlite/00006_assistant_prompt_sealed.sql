-- +goose Up
-- An assistant's system prompt is tenant content: it is sealed with the
-- tenant's data key (prompt_log_keys; AES-256-GCM, AAD binds the tenant and
-- the assistant's name) into system_prompt_sealed, and system_prompt is left
-- empty. Rows from before this migration keep their prompt in system_prompt
-- (system_prompt_sealed NULL) until the tenant's next call that reads them
-- seals it: only a call on the tenant's behalf may unwrap its key
-- (docs/adr/0065-sealed-tenant-text-and-model-ceiling.md).
ALTER TABLE assistants ADD COLUMN system_prompt_sealed BLOB;

-- +goose Down
ALTER TABLE assistants DROP COLUMN system_prompt_sealed;
