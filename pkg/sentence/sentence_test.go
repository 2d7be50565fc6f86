package sentence_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/sentence"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"one", "Rotate keys often.", []string{"Rotate keys often."}},
		{"three ends", "First one. Second one! Third one? Tail", []string{"First one.", "Second one!", "Third one?", "Tail"}},
		{"no space after the dot", "Version 1.2 is out. Use it.", []string{"Version 1.2 is out.", "Use it."}},
		{"line breaks end sentences", "# Heading\n- item one\n\nBody text.\tNext.", []string{"# Heading", "- item one", "Body text.", "Next."}},
		{"blank pieces dropped", " . \n\n  ", []string{"."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, sentence.Split(tt.text, strings.TrimSpace))
		})
	}
}

func TestSplitCleanDecides(t *testing.T) {
	drop := func(s string) string {
		if strings.Contains(s, "skip") {
			return ""
		}
		return strings.ToUpper(strings.TrimSpace(s))
	}
	require.Equal(t, []string{"KEEP.", "ALSO."}, sentence.Split("keep. skip this. also.", drop))
}

func TestBoundsCoverText(t *testing.T) {
	for _, text := range []string{"", "One. Two!\nThree? four", "a.b. c\n\n", " . \n\n  "} {
		var got []string
		next := 0
		sentence.Bounds(text, func(start, end int) {
			require.Equal(t, next, start, "pieces are contiguous")
			next = end
			if s := strings.TrimSpace(text[start:end]); s != "" {
				got = append(got, s)
			}
		})
		require.Equal(t, len(text), next, "pieces cover the text")
		require.Equal(t, sentence.Split(text, strings.TrimSpace), got, "Split keeps the cleaned pieces")
	}
}
