package index

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKeys is a tenant key for tests: AES-256-GCM bound to kind and id,
// and HMAC-SHA256, from a random 256-bit key (as keyring.Key).
type testKeys struct {
	aead cipher.AEAD
	mac  []byte
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	b, err := aes.NewCipher(k)
	require.NoError(t, err)
	g, err := cipher.NewGCM(b)
	require.NoError(t, err)
	m := make([]byte, 32)
	_, err = rand.Read(m)
	require.NoError(t, err)
	return &testKeys{aead: g, mac: m}
}

func (k *testKeys) Seal(kind, id string, pt []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, pt, []byte(kind+"\x00"+id))
}

func (k *testKeys) Open(kind, id string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("short")
	}
	return k.aead.Open(nil, sealed[:n], sealed[n:], []byte(kind+"\x00"+id))
}

func (k *testKeys) MAC(data []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(data)
	return m.Sum(nil)
}

// keyed returns a Lexical under dir using keys for every tenant (nil
// keys: no tenant's key in memory).
func keyed(dir string, keys Keys) *Lexical {
	l := NewLexical(dir)
	l.UseKeys(func(string) (Keys, bool) { return keys, keys != nil })
	return l
}

// queriesFrom draws n queries of 1–6 words of the corpus's vocabulary
// (common and rare words, some stop words and words never indexed).
func queriesFrom(seed uint64, texts []string, n int) []string {
	r := mrand.New(mrand.NewPCG(seed, 9))
	var words []string
	for _, t := range texts[:min(len(texts), 200)] {
		words = append(words, strings.Fields(t)...)
	}
	out := make([]string, n)
	for i := range out {
		var q []string
		for range 1 + r.IntN(6) {
			if r.IntN(10) == 0 {
				q = append(q, "neverindexed")
				continue
			}
			q = append(q, strings.Trim(words[r.IntN(len(words))], ",."))
		}
		out[i] = strings.Join(q, " ")
	}
	return out
}

// TestNativeMatchesBleve: the native index ranks exactly like the bleve
// index it replaced (bleveref_test.go): the same hits with the same scores
// (to 1e-9, summation order aside), for queries of common, rare, stop and
// unknown words, after chunks were indexed in many batches, re-indexed
// under the same ids and deleted (below the compaction threshold), and
// again after the native index was written to disk and reopened.
func TestNativeMatchesBleve(t *testing.T) {
	texts := zipfTexts(42, 3000, 120)
	ref := newBleveLexical(t.TempDir())
	t.Cleanup(func() { _ = ref.Close() })
	dir := t.TempDir()
	keys := newTestKeys(t)
	nat := keyed(dir, keys)
	both := func(f func(l interface {
		Index(string, string, []Entry) error
		Delete(string, string, []string) error
	}) error,
	) {
		require.NoError(t, f(ref))
		require.NoError(t, f(nat))
	}
	for start := 0; start < len(texts); start += 150 {
		var batch []Entry
		for i := start; i < min(start+150, len(texts)); i++ {
			batch = append(batch, Entry{ID: fmt.Sprintf("d%d:%d", i/7, i%7), Text: texts[i]})
		}
		both(func(l interface {
			Index(string, string, []Entry) error
			Delete(string, string, []string) error
		}) error {
			return l.Index("t", "c", batch)
		})
	}
	// re-index 100 ids with other texts, delete 300
	var again []Entry
	var gone []string
	for i := 0; i < 400; i++ {
		id := fmt.Sprintf("d%d:%d", i*7/7, (i*3)%7)
		if i < 100 {
			again = append(again, Entry{ID: id, Text: texts[(i*31)%len(texts)]})
		} else {
			gone = append(gone, fmt.Sprintf("d%d:%d", 200+i, i%7))
		}
	}
	both(func(l interface {
		Index(string, string, []Entry) error
		Delete(string, string, []string) error
	}) error {
		if err := l.Index("t", "c", again); err != nil {
			return err
		}
		return l.Delete("t", "c", gone)
	})
	queries := queriesFrom(1, texts, 300)
	compare := func(l *Lexical) {
		for _, q := range queries {
			for _, k := range []int{1, 10, 200} {
				want, err := ref.Search("t", "c", q, k)
				require.NoError(t, err)
				got, err := l.Search("t", "c", q, k)
				require.NoError(t, err)
				requireSameHits(t, want, got, q)
			}
		}
	}
	compare(nat)
	require.NoError(t, nat.Close())
	reopened := keyed(dir, keys)
	t.Cleanup(func() { _ = reopened.Close() })
	compare(reopened)
}

// TestPersistedSealedAndReopened: an index written to disk (many flushes:
// segments merged in tiers) reopens with the same hits, generation and
// deletions; its files contain neither the chunks' words nor their ids;
// without the tenant's key (or with another) it does not open, and is
// deleted so the next search rebuilds it.
func TestPersistedSealedAndReopened(t *testing.T) {
	dir := t.TempDir()
	keys := newTestKeys(t)
	l := keyed(dir, keys)
	texts := zipfTexts(7, 600, 80)
	for i := 0; i < len(texts); i += 20 {
		var b []Entry
		for j := i; j < i+20; j++ {
			b = append(b, Entry{ID: fmt.Sprintf("doc-%d", j), Text: texts[j] + " confidentialword"})
		}
		require.NoError(t, l.Index("t", "c", b))
		require.NoError(t, l.Flush())
	}
	require.NoError(t, l.Delete("t", "c", []string{"doc-3", "doc-4"}))
	require.NoError(t, l.SetGeneration("t", "c", "1.30"))
	ix, err := l.get("t", "c", false)
	require.NoError(t, err)
	require.NoError(t, l.Flush())
	ix.disk.mu.Lock()
	segs := len(ix.disk.segs)
	ix.disk.mu.Unlock()
	require.Less(t, segs, 2*mergeWidth, "30 flushes: segments merged in tiers")
	queries := queriesFrom(3, texts, 50)
	before := make([][]Hit, len(queries))
	for i, q := range queries {
		before[i], err = l.Search("t", "c", q, 20)
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())

	files := 0
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p) //nolint:gosec // the test's own temporary directory
		require.NoError(t, err)
		for _, s := range []string{"confidentialword", "confidential", "doc-1", "w1ing", "1.30"} {
			require.False(t, bytes.Contains(b, []byte(s)), "%s holds %q in plaintext", p, s)
		}
		return nil
	}))
	require.GreaterOrEqual(t, files, 2)

	again := keyed(dir, keys)
	g, err := again.Generation("t", "c")
	require.NoError(t, err)
	require.Equal(t, "1.30", g)
	for i, q := range queries {
		hits, err := again.Search("t", "c", q, 20)
		require.NoError(t, err)
		requireSameHits(t, before[i], hits, q)
		for _, h := range hits {
			require.NotContains(t, []string{"doc-3", "doc-4"}, h.ID)
		}
	}
	require.NoError(t, again.Close())

	none := keyed(dir, nil)
	g, err = none.Generation("t", "c")
	require.NoError(t, err)
	require.Empty(t, g, "no key: nothing can be read")
	_, err = none.Search("t", "c", "confidentialword", 5)
	require.ErrorIs(t, err, ErrNoKeys)

	other := keyed(dir, newTestKeys(t))
	g, err = other.Generation("t", "c")
	require.NoError(t, err)
	require.Empty(t, g, "another key: the index does not open and is dropped")
	_, err = os.Stat(other.path("t", "c"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestOpenRecovers: files a crash left behind (a temporary manifest, a
// segment the manifest does not name) are deleted at open and the index
// reads as it was; a damaged segment makes the index unreadable, so it is
// deleted (and rebuilt from the database by its next search); a bleve
// index of the previous format is deleted the same way.
func TestOpenRecovers(t *testing.T) {
	dir := t.TempDir()
	keys := newTestKeys(t)
	l := keyed(dir, keys)
	require.NoError(t, l.Index("t", "c", []Entry{{ID: "a", Text: "alpha beta"}, {ID: "b", Text: "beta gamma"}}))
	require.NoError(t, l.SetGeneration("t", "c", "1.2"))
	require.NoError(t, l.Close())
	p := l.path("t", "c")
	require.NoError(t, os.WriteFile(filepath.Join(p, "MANIFEST.tmp"), []byte("half"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(p, "seg-000000000099"), []byte("orphan"), 0o600))

	l = keyed(dir, keys)
	hits, err := l.Search("t", "c", "beta", 5)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, hitIDs(hits))
	require.NoError(t, l.Close())
	entries, err := os.ReadDir(p)
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, e.Name() == manifestName || strings.HasPrefix(e.Name(), "seg-0000000000") && e.Name() != "seg-000000000099", e.Name())
	}

	seg := filepath.Join(p, "seg-000000000001")
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(seg, b, 0o600)) //nolint:gosec // the test's own temporary directory
	l = keyed(dir, keys)
	g, err := l.Generation("t", "c")
	require.NoError(t, err)
	require.Empty(t, g, "damaged: dropped")
	_, err = os.Stat(p)
	require.ErrorIs(t, err, os.ErrNotExist)

	// the bleve index of the previous format
	ref := newBleveLexical(dir)
	require.NoError(t, ref.Index("t", "old", []Entry{{ID: "a", Text: "alpha"}}))
	require.NoError(t, ref.SetGeneration("t", "old", "3.4"))
	require.NoError(t, ref.Close())
	g, err = l.Generation("t", "old")
	require.NoError(t, err)
	require.Empty(t, g, "a bleve index is not read: the collection is rebuilt")
	_, err = os.Stat(l.LegacyDir("t", "old"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, l.Close())
}

func hitIDs(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// TestCompaction: once a quarter of the chunks are dead the index is
// compacted (renumbered, lists rewritten, written as one segment) and
// ranks as a fresh index of the live chunks does; it reopens the same.
func TestCompaction(t *testing.T) {
	texts := zipfTexts(11, 800, 60)
	keys := newTestKeys(t)
	dir := t.TempDir()
	l := keyed(dir, keys)
	fresh := keyed(t.TempDir(), keys)
	var all, live []Entry
	var gone []string
	for i, text := range texts {
		e := Entry{ID: fmt.Sprint(i), Text: text}
		all = append(all, e)
		if i%3 == 0 {
			gone = append(gone, e.ID)
		} else {
			live = append(live, e)
		}
	}
	require.NoError(t, l.Index("t", "c", all))
	require.NoError(t, l.Flush())
	require.NoError(t, l.Delete("t", "c", gone))
	require.NoError(t, l.Flush())
	ix, err := l.get("t", "c", false)
	require.NoError(t, err)
	ix.mu.RLock()
	require.Equal(t, len(live), len(ix.ids), "compacted")
	require.Zero(t, ix.nDead)
	ix.mu.RUnlock()
	ix.disk.mu.Lock()
	require.Len(t, ix.disk.segs, 1)
	ix.disk.mu.Unlock()
	require.NoError(t, fresh.Index("t", "c", live))
	for _, q := range queriesFrom(5, texts, 80) {
		want, err := fresh.Search("t", "c", q, 15)
		require.NoError(t, err)
		got, err := l.Search("t", "c", q, 15)
		require.NoError(t, err)
		requireSameHits(t, want, got, q)
	}
	require.NoError(t, l.Close())
	again := keyed(dir, keys)
	hits, err := again.Search("t", "c", texts[1], 5)
	require.NoError(t, err)
	require.NotEmpty(t, hits)
	require.Equal(t, "1", hits[0].ID)
	require.NoError(t, again.Close())
	require.NoError(t, fresh.Close())
}

// TestConcurrentIndexSearchFlush (run with -race): searches run while two
// writers index, re-index and delete, and flushes, merges and compactions
// run in the background; at the end every live chunk is found.
func TestConcurrentIndexSearchFlush(t *testing.T) {
	texts := zipfTexts(13, 1200, 40)
	keys := newTestKeys(t)
	dir := t.TempDir()
	l := keyed(dir, keys)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(texts)/20; i += 2 {
				var b []Entry
				for j := i * 20; j < i*20+20; j++ {
					b = append(b, Entry{ID: fmt.Sprint(j), Text: texts[j]})
				}
				require.NoError(t, l.Index("t", "c", b))
				if i%3 == 0 {
					require.NoError(t, l.Delete("t", "c", []string{fmt.Sprint(i * 20), fmt.Sprint(i*20 + 1)}))
				}
				if i%5 == 0 {
					require.NoError(t, l.Flush())
				}
			}
		}()
	}
	stop := make(chan struct{})
	var searches sync.WaitGroup
	for range 2 {
		searches.Add(1)
		go func() {
			defer searches.Done()
			qs := queriesFrom(17, texts, 50)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := l.Search("t", "c", qs[i%len(qs)], 10)
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	searches.Wait()
	require.NoError(t, l.Close())
	again := keyed(dir, keys)
	for _, i := range []int{2, 21, 599, 1199} {
		hits, err := again.Search("t", "c", texts[i], 3)
		require.NoError(t, err)
		require.NotEmpty(t, hits)
		require.Equal(t, fmt.Sprint(i), hits[0].ID, "chunk %d", i)
	}
	hits, err := again.Search("t", "c", texts[60], 1200)
	require.NoError(t, err)
	require.NotEmpty(t, hits)
	require.NotContains(t, hitIDs(hits), "60", "deleted")
	require.NoError(t, again.Close())
}

// TestFirstOpenOnce: goroutines opening the same collection at once (some
// reading, some creating) get one index, read from disk once; another
// collection opens meanwhile; dropping a tenant waits for reads in
// progress.
func TestFirstOpenOnce(t *testing.T) {
	dir := t.TempDir()
	keys := newTestKeys(t)
	l := keyed(dir, keys)
	texts := zipfTexts(21, 300, 50)
	var all []Entry
	for i, text := range texts {
		all = append(all, Entry{ID: fmt.Sprint(i), Text: text})
	}
	require.NoError(t, l.Index("t", "a", all))
	require.NoError(t, l.Index("t", "b", all[:10]))
	require.NoError(t, l.Close())

	again := keyed(dir, keys)
	got := make([]*collIndex, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ix, err := again.get("t", []string{"a", "b"}[i%2], i%4 == 0)
			require.NoError(t, err)
			got[i] = ix
		}()
	}
	wg.Wait()
	for i := range got {
		require.NotNil(t, got[i])
		require.Same(t, got[i%2], got[i], "one index per collection")
	}
	ix := got[0]
	ix.mu.RLock()
	require.Len(t, ix.ids, len(all), "read from disk, not created empty")
	ix.mu.RUnlock()
	require.NoError(t, again.DropTenant("t"))
	g, err := again.get("t", "a", false)
	require.NoError(t, err)
	require.Nil(t, g, "dropped")
}
