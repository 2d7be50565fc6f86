package hashembed

import (
	"strings"
	"testing"
)

var chunkText = strings.Repeat("Manage multiple working trees attached to the same repository. A git repository can support multiple working trees, allowing you to check out more than one branch at a time. ", 12)

// BenchmarkVector: one ~300-token chunk, per version (ingestion embeds
// every chunk once).
func BenchmarkVector(b *testing.B) {
	b.Run("v1-256", func(b *testing.B) {
		b.SetBytes(int64(len(chunkText)))
		for b.Loop() {
			Vector(chunkText, 256)
		}
	})
	b.Run("v2-768", func(b *testing.B) {
		b.SetBytes(int64(len(chunkText)))
		for b.Loop() {
			VectorV2(chunkText, 768)
		}
	})
}
