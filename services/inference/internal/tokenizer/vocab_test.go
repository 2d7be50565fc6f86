package tokenizer

import (
	"runtime"
	"testing"

	"github.com/pkoukk/tiktoken-go-loader/assets"
	"github.com/stretchr/testify/require"
)

// TestVocabRoundTrip: every token of both vocabularies is found at its
// own rank, and byte strings that are not tokens are not found.
func TestVocabRoundTrip(t *testing.T) {
	for _, name := range []string{CL100KBase, O200KBase} {
		t.Run(name, func(t *testing.T) {
			src, err := assets.Assets.ReadFile(name + ".tiktoken")
			require.NoError(t, err)
			v, err := parseVocab(src)
			require.NoError(t, err)
			for r := range v.end {
				got, ok := v.rank(v.token(uint32(r))) //nolint:gosec // G115: fewer than 2³² tokens
				if !ok || got != r {
					t.Fatalf("rank %d: got %d, %v", r, got, ok)
				}
			}
			for _, miss := range []string{"", "not a single token, surely", "\xff\xff\xff\xff\xff"} {
				_, ok := v.rank([]byte(miss))
				require.False(t, ok, "%q", miss)
			}
		})
	}
}

func TestParseVocabRefusesWhatItCannotCountTheSame(t *testing.T) {
	for name, src := range map[string]string{
		"empty":           "",
		"no rank":         "YQ==\n",
		"ranks not 0,1,…": "YQ== 0\nYg== 2\n",
		"bad base64":      "!!!! 0\n",
		"duplicate token": "YQ== 0\nYQ== 1\n",
	} {
		_, err := parseVocab([]byte(src))
		require.Error(t, err, name)
	}
	v, err := parseVocab([]byte("YQ== 0\nYg== 1\nYWI= 2\n"))
	require.NoError(t, err)
	r, ok := v.rank([]byte("ab"))
	require.True(t, ok)
	require.Equal(t, 2, r)
}

// TestVocabHeap: both vocabularies parsed keep a fraction of the heap
// tiktoken-go's maps kept (11.7 MB for cl100k_base, 23.7 MB for
// o200k_base, measured the same way).
func TestVocabHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	vs := make([]*vocab, 0, 2)
	for _, name := range []string{CL100KBase, O200KBase} {
		src, err := assets.Assets.ReadFile(name + ".tiktoken")
		require.NoError(t, err)
		v, err := parseVocab(src)
		require.NoError(t, err)
		vs = append(vs, v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc) //nolint:gosec // G115: heap sizes
	t.Logf("both vocabularies: %.1f MB live, %.1f MB allocated while parsing", float64(live)/1e6, float64(after.TotalAlloc-before.TotalAlloc)/1e6)
	require.Less(t, live, int64(10<<20))
	runtime.KeepAlive(vs)
}
