// Command ingestion runs the Rampart ingestion service.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/ingestion/internal/server"
)

func main() { backend.Main("ingestion", server.Run) }
