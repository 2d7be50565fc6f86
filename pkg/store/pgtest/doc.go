// Package pgtest starts a real, throwaway PostgreSQL server for a test.
//
//	url := pgtest.Start(t) // postgres://postgres@127.0.0.1:<port>/rampart?sslmode=disable
//	db, err := store.OpenPostgres(ctx, url, migrations)
//
// Start runs initdb and postgres from the server binaries installed on the
// machine: the directory of initdb on PATH (and of its symlink target), then
// /usr/lib/postgresql/<version>/bin (Debian/Ubuntu, newest first), then
// /usr/local/pgsql/bin. The cluster lives in a fresh temporary directory
// (data directory plus the unix socket directory), listens on a free
// loopback port with trust authentication, gets a database named "rampart",
// and is stopped (fast shutdown) and deleted in t.Cleanup. postgres is run
// directly as a child of the test process rather than daemonised with
// pg_ctl, so Cleanup waits for it and, on Linux, it is killed if the test
// binary dies.
//
// If the binaries are missing the test is skipped with an install hint
// (apt-get install postgresql) — unless the environment variable CI is
// "true", in which case it fails.
//
// Running as root: initdb and postgres refuse to run as root. When the test
// process has uid 0, Start runs both as an unprivileged account — the
// "postgres" user if it exists, else "nobody" — by setting
// exec.Cmd.SysProcAttr.Credential (uid, gid, no supplementary groups), and
// chowns the temporary directory to that account. The directory is created
// with os.MkdirTemp in the system temp directory rather than under
// t.TempDir(), because t.TempDir's parent is a root-only 0700 directory the
// unprivileged server could not enter, and because a unix socket path must
// stay under ~100 bytes, which long test names would exceed.
package pgtest
