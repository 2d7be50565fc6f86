// Command auth is Rampart's auth service: tenants, members, API keys,
// principal signing, revocation streams and the audit chain.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/auth/internal/app"
)

func main() { backend.Main("auth", app.Run) }
