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
	// Zipf prose over a 30,000-word vocabulary (TestVectorV2Golden's
	// corpus, about 180 words a text): the word memo's and the feature
	// table's cache misses, which one repeated chunk hides.
	texts := goldenCorpus()[10:]
	var n int
	for _, t := range texts {
		n += len(t)
	}
	b.Run("v2-768-zipf", func(b *testing.B) {
		b.SetBytes(int64(n / len(texts)))
		i := 0
		for b.Loop() {
			VectorV2(texts[i%len(texts)], 768)
			i++
		}
	})
}
