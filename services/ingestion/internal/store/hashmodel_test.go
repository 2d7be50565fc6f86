package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

func TestHashModelIDs(t *testing.T) {
	for _, c := range []struct {
		model         string
		version       int
		public, label string
	}{
		{"rampart-hash-embed", 1, "rampart-hash-embed", "Version 1: the id collections recorded before versions"},
		{"", 1, "rampart-hash-embed", "no model recorded: the hash embedder"},
		{"rampart-hash-embed@2", 2, "rampart-hash-embed", "Version 2"},
		{"rampart-hash-embed@1", 0, "rampart-hash-embed@1", "Version 1 has no suffix"},
		{"rampart-hash-embed@x", 0, "rampart-hash-embed@x", "not a version"},
		{"rampart-hash-embed-large", 0, "rampart-hash-embed-large", "another model"},
		{"text-embedding-3-small", 0, "text-embedding-3-small", "a registry model"},
	} {
		t.Run(c.label, func(t *testing.T) {
			require.Equal(t, c.version, store.HashVersion(c.model))
			require.Equal(t, c.public, store.PublicModel(c.model))
		})
	}
	require.Equal(t, "rampart-hash-embed", store.HashModelID(1))
	require.Equal(t, "rampart-hash-embed@2", store.HashModelID(2))
	require.Equal(t, 2, store.HashVersion(store.HashModelID(2)))
}
