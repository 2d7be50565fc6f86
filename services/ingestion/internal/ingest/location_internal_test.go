package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

func TestLocationEncoding(t *testing.T) {
	spans := []SpanLocation{
		{TextStart: 0, TextEnd: 12, Location: extract.Location{Start: 40, End: 53, LineStart: 3, LineEnd: 3}},
		{TextStart: 13, TextEnd: 20, Location: extract.Location{Start: 70000, End: 70008, LineStart: 9000, LineEnd: 9000}},
	}
	b := encodeLocation(spans)
	got, err := decodeLocation(b)
	require.NoError(t, err)
	require.Equal(t, spans, got)
	require.Equal(t, &extract.Location{Start: 40, End: 70008, LineStart: 3, LineEnd: 9000}, Covering(got))
	paged := []SpanLocation{{Location: extract.Location{Start: 1, End: 5, Page: 2, PageEnd: 2}}, {Location: extract.Location{Start: 7, End: 9, Page: 3, PageEnd: 3}}}
	got, err = decodeLocation(encodeLocation(paged))
	require.NoError(t, err)
	require.Equal(t, &extract.Location{Start: 1, End: 9, Page: 2, PageEnd: 3}, Covering(got))
	require.Nil(t, Covering(nil))

	for name, bad := range map[string][]byte{
		"empty":            nil,
		"unknown version":  append([]byte{2}, b[1:]...),
		"truncated":        b[:len(b)-1],
		"trailing bytes":   append(append([]byte{}, b...), 0),
		"count past bytes": {locationVersion, 200},
	} {
		_, err := decodeLocation(bad)
		require.ErrorIs(t, err, errLocation, name)
	}
}
