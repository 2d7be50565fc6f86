// Package wiretest sends hand-written HTTP/1.x bytes to a listener, for
// the framing tests of the edge (wirecheck's own and the app's public and
// TLS listeners): net/http's client would normalise or refuse them.
package wiretest
