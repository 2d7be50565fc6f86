package extract_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		data     string
		err      bool
	}{
		{in: "text/plain; charset=utf-8", want: extract.Plain},
		{in: "text/markdown", want: extract.Markdown},
		{in: "text/x-markdown", want: extract.Markdown},
		{in: "TEXT/HTML; charset=UTF-8", want: extract.HTML},
		{in: "", data: "<!DOCTYPE html><html><body>x</body></html>", want: extract.HTML},
		{in: "", data: "just words", want: extract.Plain},
		{in: "application/pdf", err: true},
		{in: "", data: "%PDF-1.4\x00\x01", err: true},
		{in: ";;;", err: true},
	} {
		t.Run(tc.in+tc.data, func(t *testing.T) {
			got, err := extract.Normalize(tc.in, []byte(tc.data))
			if tc.err {
				require.ErrorIs(t, err, extract.ErrUnsupported)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, ct, in, want string
	}{
		{"plain", extract.Plain, "a\r\nb", "a\nb"},
		{"markdown kept", extract.Markdown, "# Title\n\n*bold* text", "# Title\n\n*bold* text"},
		{"html blocks", extract.HTML, "<html><head><title>T</title><style>p{}</style></head><body><h1>Head</h1><p>one  two</p><script>alert(1)</script><p>three</p></body></html>", "T\nHead\none two\nthree"},
		{"html entities", extract.HTML, "<p>fish &amp; chips</p>", "fish & chips"},
		{"html nested skip", extract.HTML, "<p>a</p><noscript><p>hidden</p></noscript><p>b</p>", "a\nb"},
		{"html broken", extract.HTML, "<p>unclosed <b>bold", "unclosed bold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract.Text(tc.ct, []byte(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := extract.Text(extract.Plain, []byte{0xff, 0xfe})
	require.ErrorIs(t, err, extract.ErrNotText)
}

func FuzzHTMLText(f *testing.F) {
	f.Add("<p>hello <b>world</b></p><script>x</script>")
	f.Add("<<<>>></p></script><style>")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := extract.Text(extract.HTML, []byte(s))
		if err != nil {
			return
		}
		require.LessOrEqual(t, len(out), len(s)+1024)
	})
}
