-- +goose Up
-- Position in auth's tenant event stream (pkg/tenantevents): a purged
-- tenant's installations, bindings and adapter key are removed, so its
-- workspaces can be installed again by another tenant.
CREATE TABLE stream_cursors (
    name   TEXT    NOT NULL PRIMARY KEY,
    cursor INTEGER NOT NULL
);

-- +goose Down
DROP TABLE stream_cursors;
