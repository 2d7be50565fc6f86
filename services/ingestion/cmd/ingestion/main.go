// Command ingestion runs Rampart's ingestion service: collections,
// document ingestion (uploads, URLs, crawls, data-source connections),
// chunking, embeddings and hybrid search over mTLS gRPC.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/ingestion/internal/app"
)

func main() { backend.Main("ingestion", app.Run) }
