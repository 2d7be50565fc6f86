// Package testproc holds what pgtest and redistest share: finding a server
// binary, the skip-or-fail rule when it is missing, free loopback ports, and
// supervising a child server process.
package testproc
