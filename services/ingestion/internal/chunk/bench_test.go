package chunk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
)

// BenchmarkSplitSections chunks a 64 KiB Markdown-like document of 32
// sections (ingestion's chunk step for one upload).
func BenchmarkSplitSections(b *testing.B) {
	var secs []chunk.Section
	for s := range 32 {
		var t strings.Builder
		for i := range 40 {
			fmt.Fprintf(&t, "Sentence %d of section %d talks about  routers and   certificates.\n", i, s)
		}
		secs = append(secs, chunk.Section{Heading: fmt.Sprint("Part ", s), Text: t.String()})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = chunk.SplitSections(secs, chunk.Options{})
	}
}
