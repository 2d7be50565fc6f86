package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/hashembed"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestStoredVectorsAreDefinition: each stored chunk vector is its text's
// Version 2 embedding mixed with the document opening's (embed.DocumentMix),
// across more than one embedding batch (progressEvery): mixing in place and
// reusing the encoding buffer change no stored bit.
func TestStoredVectorsAreDefinition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "ingestion.db"))
	require.NoError(t, err)
	lex := index.NewLexical(filepath.Join(dir, "index"))
	ring := keyring.New(keyvaulttest.Direct{K: keyvaulttest.NewKMS()}, st, 0, 0)
	done := make(chan int, 4)
	svc := New(Options{
		Store: st, Ring: ring, Lexical: lex, Vectors: index.NewVectors(0), Embedder: embed.Hash{},
		Fetcher: fetch.New(fetch.Options{}), Chunk: chunk.Options{Tokens: 12, Overlap: 2}, Workers: 1,
		OnJobDone: func(_, _ string, s int) { done <- s },
	})
	runCtx, cancel := context.WithCancel(ctx)
	go func() { _ = svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); _ = lex.Close(); _ = st.Close() })
	_, err = svc.CreateCollection(ctx, "t", "", nil, "kb", "", "")
	require.NoError(t, err)

	var b strings.Builder
	b.WriteString("# Rotating certificates\n\n")
	for i := range 150 {
		fmt.Fprintf(&b, "Sentence %d says the VPN certificates rotate every %d days. ", i, 30+i%20)
	}
	d, _, _, err := svc.Ingest(ctx, "t", Input{Collection: "kb", Content: []byte(b.String()), ContentType: "text/markdown"})
	require.NoError(t, err)
	require.Equal(t, store.JobSucceeded, <-done)

	key, ok := ring.Cached("t")
	require.True(t, ok)
	chunks, err := st.CollectionChunks(ctx, "t", "kb")
	require.NoError(t, err)
	require.Greater(t, len(chunks), progressEvery, "more than one batch")
	texts, err := reembedTexts(key, chunks, map[string]string{}, nil)
	require.NoError(t, err)
	dims := embed.Hash{}.Dimensions()
	opening := hashembed.VectorV2(texts[0], dims)
	stored := map[int][]float32{}
	require.NoError(t, st.Vectors(ctx, "t", "kb", func(doc string, seq int, sealed []byte) error {
		require.Equal(t, d.ID, doc)
		b, err := key.Open(kindVector, chunkID(doc, seq), sealed)
		stored[seq] = decodeVector(b)
		return err
	}))
	require.Len(t, stored, len(chunks))
	for i, c := range chunks {
		want := hashembed.Mix(hashembed.VectorV2(texts[i], dims), opening, embed.DocumentMix)
		require.Equal(t, want, stored[c.Seq], "chunk %d", c.Seq)
	}
}
