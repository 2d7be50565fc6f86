package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSourcesHolder(t *testing.T) {
	const extractive = "From the documents: \"Every 45 days.\" [1]\n\nSources: [1] vpn.md; [2] keys.md"
	tests := []struct {
		name, text string
		cited      bool
		want       string
	}{
		{"closing Sources line dropped when cited", extractive, true, "From the documents: \"Every 45 days.\" [1]"},
		{"kept without citations", extractive, false, extractive},
		{"trailing newline after it", extractive + "\n", true, "From the documents: \"Every 45 days.\" [1]"},
		{"not the last line: kept", "Sources: are listed.\nSources: a\nMore.", true, "Sources: are listed.\nSources: a\nMore."},
		{"a line that only starts like it", "Answer.\nSo it is.", true, "Answer.\nSo it is."},
		{"no line break before it", "Sources: [1] a", true, "Sources: [1] a"},
		{"trailing blank lines kept", "Answer.\n\n", true, "Answer.\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and one byte per chunk as a stream may split it.
			for _, size := range []int{len(tt.text), 1} {
				var out bytes.Buffer
				h := &sourcesHolder{w: &out}
				for i := 0; i < len(tt.text); i += size {
					require.NoError(t, h.write(tt.text[i:min(i+size, len(tt.text))]))
				}
				require.NoError(t, h.finish(tt.cited))
				require.Equal(t, tt.want, out.String(), "chunks of %d", size)
			}
		})
	}
}

// The held-back part is only what may become a Sources line: the rest of
// the answer streams as it comes.
func TestSourcesHolderStreamsTheRest(t *testing.T) {
	var out bytes.Buffer
	h := &sourcesHolder{w: &out}
	require.NoError(t, h.write("Every 45 days [1].\n\nSour"))
	require.Equal(t, "Every 45 days [1].", out.String())
	require.NoError(t, h.write("ly, no."))
	require.Equal(t, "Every 45 days [1].\n\nSourly, no.", out.String())
}
