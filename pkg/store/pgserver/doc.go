// Package pgserver holds what every launcher of a local PostgreSQL server
// (the `rampart dev --ha` supervisor and the pgtest test harness) needs
// before it runs initdb and postgres: the unprivileged account to run them
// as when the caller is root (both binaries refuse to run as root), and a
// clean environment, so PG* variables of the caller's shell never point a
// server or initdb elsewhere.
package pgserver
