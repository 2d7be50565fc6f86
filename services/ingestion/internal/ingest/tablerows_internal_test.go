package ingest

import "testing"

// TestTableRows: a chunk that starts and ends inside a Markdown table is
// table rows; prose, and prose around a table, is not.
func TestTableRows(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"| `POST /v1/keys/{key_id}:rotate` | keys:write | member |", true},
		{"| a | b | | --- | --- | | 1 | 2 |", true},
		{"A key may rotate itself.", false},
		{"The table: | a | b |", false},
		{"| a | b | and then prose.", false},
		{"|", false},
		{"", false},
	} {
		if got := tableRows(tc.text); got != tc.want {
			t.Errorf("tableRows(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
