// Command auth is Rampart's auth service: tenants, members, API keys,
// principal signing, revocation streams and the audit chain.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
)

func main() { backend.Main("auth", run) }
