package ingest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTextRange: ranges count characters, not bytes; an open or too long
// end stops at the text's end or at MaxTextChars; a start past the end is
// refused.
func TestTextRange(t *testing.T) {
	long := strings.Repeat("é", MaxTextChars+10)
	for _, tc := range []struct {
		name       string
		text       string
		start, end int
		want       string
		wantEnd    int
		wantErr    string
	}{
		{name: "all", text: "Café — ok", start: 0, end: -1, want: "Café — ok", wantEnd: 9},
		{name: "characters", text: "Café — ok", start: 3, end: 6, want: "é —", wantEnd: 6},
		{name: "end past the text", text: "abc", start: 1, end: 99, want: "bc", wantEnd: 3},
		{name: "empty at the end", text: "abc", start: 3, end: -1, want: "", wantEnd: 3},
		{name: "bounded", text: long, start: 5, end: -1, want: long[10 : 10+2*MaxTextChars], wantEnd: 5 + MaxTextChars},
		{name: "start past the end", text: "abc", start: 4, end: -1, wantErr: "past the end of the text (3 characters)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := textRange([]byte(tc.text), tc.start, tc.end)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Text)
			require.Equal(t, tc.start, r.Start)
			require.Equal(t, tc.wantEnd, r.End)
			require.Equal(t, len([]rune(tc.text)), r.Length)
		})
	}
}
