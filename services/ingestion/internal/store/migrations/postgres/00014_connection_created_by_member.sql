-- +goose Up
-- The authorizer's member record (ADR 0118): a subject removed and added
-- again is another member, which does not inherit the connections the
-- first one authorized. '' (connections from before, or an auth that does
-- not yet send member ids): the subject alone binds.
ALTER TABLE connections ADD COLUMN created_by_member TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN created_by_member;
