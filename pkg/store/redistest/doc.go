// Package redistest starts a real, throwaway redis-server for a test.
//
//	addr := redistest.Start(t) // "127.0.0.1:<port>"
//	rdb := redis.NewClient(&redis.Options{Addr: addr})
//
// The server is found on PATH (then /usr/bin, /usr/local/bin,
// /opt/homebrew/bin), listens only on 127.0.0.1 on a free port, keeps
// nothing on disk (--save "" --appendonly no; its working directory is
// t.TempDir()), and is stopped in t.Cleanup. On Linux it is killed if the
// test binary dies. If redis-server is missing the test is skipped with an
// install hint (apt-get install redis-server) — unless the environment
// variable CI is "true", in which case it fails.
//
// Unlike PostgreSQL, redis-server runs as root without complaint, so no
// credential switching is needed.
package redistest
