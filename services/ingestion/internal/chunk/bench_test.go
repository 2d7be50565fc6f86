package chunk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
)

// BenchmarkSplitSections chunks a 64 KiB Markdown-like document of 32
// sections (ingestion's chunk step for one upload), by section (ADR 0119)
// and in the flat windows of before.
func BenchmarkSplitSections(b *testing.B) {
	var secs []chunk.Section
	for s := range 32 {
		var t strings.Builder
		for i := range 40 {
			fmt.Fprintf(&t, "Sentence %d of section %d talks about  routers and   certificates.\n", i, s)
		}
		secs = append(secs, chunk.Section{Heading: fmt.Sprint("Part ", s), Text: t.String()})
	}
	for _, c := range []struct {
		name string
		o    chunk.Options
	}{{"sections", chunk.Options{Tokens: 300, Overlap: 50}}, {"flat", chunk.Options{Tokens: 300, Overlap: 50, Flat: true}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = chunk.SplitSections(secs, c.o)
			}
		})
	}
}
