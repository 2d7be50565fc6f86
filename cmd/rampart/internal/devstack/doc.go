// Package devstack runs the whole Rampart stack on loopback for development:
// dev PKI, the six services as child processes with embedded SQLite, a
// bootstrap tenant and admin key (adminkey.go: recorded per kind of stack,
// published only once the edge accepts it), and dev.env for tools and
// tests. It never restarts a child silently: a crash stops the stack with
// an error.
//
// With Config.HA (rampart dev --ha) it also runs PostgreSQL and Redis on
// unix sockets in the data dir and two replicas of every service, addressed
// as comma lists, and serves a control API (control.go) through which a
// chaos test kills a replica with SIGKILL and restarts it.
package devstack
