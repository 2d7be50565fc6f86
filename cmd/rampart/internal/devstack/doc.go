// Package devstack runs the whole Rampart stack on loopback for development:
// dev PKI, the six services as child processes with embedded SQLite, a
// bootstrap tenant and admin key, and dev.env for tools and tests. It never
// restarts a child silently: a crash stops the stack with an error.
package devstack
