package hashembed

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// goldenCorpus is a fixed set of texts: Zipf-drawn prose over a 30,000-word
// pseudo-vocabulary (the shape of BenchmarkIngest's documents, so the word
// memo fills and evicts nothing), mixed case, punctuation, digits, stop
// words, Unicode and invalid UTF-8.
func goldenCorpus() []string {
	stopList := []string{"the", "The", "of", "AND", "is", "which"}
	r := rand.New(rand.NewPCG(11, 12))
	vocab := make([]string, 30000)
	for i := range vocab {
		b := make([]byte, 1+r.IntN(14))
		for j := range b {
			b[j] = "abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]
		}
		vocab[i] = string(b)
	}
	z := rand.NewZipf(r, 1.1, 1, 30000-1)
	texts := []string{
		"", "git", "The", "a an the", "Manage multiple working trees attached to the same repository",
		"héllo wörld 42 – the a an", "İstanbul ǅemal ΣΊΣΥΦΟΣ straße", "a-b_c.d/e\x00f\xffg",
		"rotate the certificates every 45 days; rotate keys yearly.", chunkText,
	}
	for range 200 {
		var b strings.Builder
		for i := range 50 + r.IntN(300) {
			w := vocab[z.Uint64()]
			switch r.IntN(20) {
			case 0:
				w = strings.ToUpper(w)
			case 1:
				w = stopList[r.IntN(len(stopList))]
			case 2:
				w += ","
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		texts = append(texts, b.String())
	}
	return texts
}

// TestVectorV2Golden pins Version 2's vectors bit for bit: the SHA-256 of
// every float32 of every golden text's vector at 16, 256 and 768
// dimensions, as the code produced them when this test was written
// (2026-12-06, before the hash-keyed word memo). Stored vectors and
// rankings must not move when the implementation is made faster: a
// different digest means a new model version, not a refactoring.
func TestVectorV2Golden(t *testing.T) {
	texts := goldenCorpus()
	for _, c := range []struct {
		dims int
		want string
	}{
		{16, "cffedc3a7ad12d981099c28216fc8bbb764a47512c50cfac3d4d4389314df474"},
		{256, "41e73252dcf5b95257a605a41d4a9523bf08736031ba31083106f78f3ac0a7c7"},
		{768, "3cd52a7a87e05f9fb1f3934160b75c1c0853e37ae894b3cbcb2efe60d135ee78"},
	} {
		for round := range 2 { // the second round reads the word memo
			h := sha256.New()
			var b [4]byte
			for _, text := range texts {
				for _, x := range VectorV2(text, c.dims) {
					binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
					h.Write(b[:])
				}
			}
			require.Equal(t, c.want, hex.EncodeToString(h.Sum(nil)), "dims %d round %d", c.dims, round)
		}
	}
}

// TestVectorV2Concurrent: embedders filling the lock-free word memo at
// the same time (the same words, first seen by several of them) get the
// vectors a single embedder gets.
func TestVectorV2Concurrent(t *testing.T) {
	texts := goldenCorpus()
	want := make([][]float32, len(texts))
	for i, text := range texts {
		texts[i] = strings.ReplaceAll(text, " ", "zq ") // words no other test put in the memo
		want[i] = previousV2(texts[i], 64)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range texts {
				j := (i + g*len(texts)/4) % len(texts) // each starts elsewhere
				if got := VectorV2(texts[j], 64); !slices.Equal(got, want[j]) {
					errs <- fmt.Errorf("text %d differs", j)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}
