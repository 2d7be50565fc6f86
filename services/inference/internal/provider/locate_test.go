package provider_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

func TestPassageLocate(t *testing.T) {
	// "Café prices rise. Second one." from a file where the first sentence
	// is verbatim at 100 (line 4) and the second was squeezed ("Second
	// \t one." at 120, line 5).
	p := provider.Passage{Text: "Café prices rise. Second one.", Spans: []provider.Span{
		{TextStart: 0, TextEnd: 17, Location: wire.Location{Start: 100, End: 117, Line: 4, LineEnd: 4}},
		{TextStart: 18, TextEnd: 29, Location: wire.Location{Start: 120, End: 133, Line: 5, LineEnd: 5}},
	}}
	second := len("Café prices rise. ")
	tests := []struct {
		name     string
		from, to int
		want     *wire.Location
	}{
		{"a whole sentence", 0, len("Café prices rise."), &wire.Location{Start: 100, End: 117, Line: 4, LineEnd: 4}},
		{"inside a verbatim sentence: its own characters", len("Café "), len("Café prices"), &wire.Location{Start: 105, End: 111, Line: 4, LineEnd: 4}},
		{"the passage", 0, len(p.Text), &wire.Location{Start: 100, End: 133, Line: 4, LineEnd: 5}},
		{"inside a squeezed sentence: the whole sentence", second, second + len("Second"), &wire.Location{Start: 120, End: 133, Line: 5, LineEnd: 5}},
		{"from the space between sentences", second - 1, len(p.Text), &wire.Location{Start: 120, End: 133, Line: 5, LineEnd: 5}},
		{"empty", 3, 3, nil},
		{"past the text", 0, len(p.Text) + 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, p.Locate(tt.from, tt.to))
		})
	}
	require.Nil(t, provider.Passage{Text: "No spans."}.Locate(0, 3), "no location is guessed")
}
