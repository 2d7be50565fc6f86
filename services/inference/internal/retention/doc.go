// Package retention bounds what inference keeps on disk (issue 16): a
// periodic sweeper rolls raw usage rows up into hourly rows after the raw
// retention and hourly rows into daily rows after the hourly retention,
// and deletes each tenant's prompt logs and stored Responses API responses
// older than its prompt-log retention.
//
// Several replicas may run a sweeper against one database: each pass first
// takes a lease row (store.TryLease), so one replica sweeps at a time; the
// rollup statements are also safe without it (PostgreSQL locks each batch
// with FOR UPDATE SKIP LOCKED, SQLite has one writer), so a replica whose
// lease expired mid-pass cannot count a request twice.
package retention
