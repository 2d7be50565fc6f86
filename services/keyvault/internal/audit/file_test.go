package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Every acknowledged record is one line of the file, concurrent writers
// included; Close waits for them and refuses later records.
func TestFileSinkGroupCommit(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "audit.log")
		s, err := OpenFile(path, fsync)
		require.NoError(t, err)
		const writers, each = 16, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					r := Record{Time: time.Now(), Tenant: "t", Action: "GetSecretValue", Name: "/dev/a/b", Result: ResultOK, RequestID: fmt.Sprintf("%d-%d", w, i)}
					require.NoError(t, s.Write(t.Context(), r))
				}
			})
		}
		wg.Wait()
		require.NoError(t, s.Close())
		require.ErrorIs(t, s.Write(t.Context(), Record{}), ErrClosed)

		f, err := os.Open(path)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			var r Record
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "one JSON record per line")
			n++
		}
		require.NoError(t, f.Close())
		require.Equal(t, writers*each, n, "fsync=%v", fsync)
	}
}

// A failed write fails every record of its batch and later ones; nothing
// is reported written that was not.
func TestFileSinkWriteFailure(t *testing.T) {
	s, err := OpenFile(filepath.Join(t.TempDir(), "audit.log"), false)
	require.NoError(t, err)
	require.NoError(t, s.f.Close()) // the disk goes away
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- s.Write(t.Context(), Record{Time: time.Now(), Result: ResultOK}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorContains(t, err, "audit: write")
	}
	s.mu.Lock()
	require.False(t, s.flushing, "no flusher left behind")
	require.Empty(t, s.queue)
	s.mu.Unlock()
}

// While a flush is in progress, writers queue and one of them writes all
// of them at once afterwards.
func TestFileSinkBatchesWhileFlushing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	s, err := OpenFile(path, false)
	require.NoError(t, err)
	s.mu.Lock()
	s.flushing = true // a flush is in progress
	s.mu.Unlock()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { require.NoError(t, s.Write(t.Context(), Record{Time: time.Now(), Result: ResultOK})) })
	}
	require.Eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.queue) == 5 }, 5*time.Second, time.Millisecond)
	// The flush ends: hand over as the flusher does.
	s.mu.Lock()
	s.queue[0].done <- flushResult{lead: true}
	s.mu.Unlock()
	wg.Wait()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 5, len(splitLines(b)), "the five queued records, written after the hand-over")
	require.NoError(t, s.Close())
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
