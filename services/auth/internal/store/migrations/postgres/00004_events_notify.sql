-- +goose Up
-- Every committed append to the event log notifies rampart_auth_events, so
-- auth replicas wake their watchers at once instead of polling the table
-- (store.ListenEvents; ADR 0039). A statement-level trigger: one
-- notification per INSERT, delivered at commit, whatever code inserted.
-- +goose StatementBegin
CREATE FUNCTION rampart_auth_events_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rampart_auth_events', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION rampart_auth_events_notify();

-- +goose Down
DROP TRIGGER events_notify ON events;
DROP FUNCTION rampart_auth_events_notify();
