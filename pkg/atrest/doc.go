// Package atrest reads what a service left on disk, for the tests that
// check no plaintext (a document's words, an API key, a secret) is stored
// at rest under a data directory.
//
// Those tests run against live services: SQLite creates and removes its
// -wal and -shm files, the lexical index writes and renames segments, so a
// file listed by the walk may be gone when it is read. Files walks the
// directory through an os.Root (no path escapes it) and skips a file that
// vanished in between: it no longer holds anything at rest. Any other
// error stops the walk.
package atrest
