package vault

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeyedMutexExcludesPerKeyAndShrinks(t *testing.T) {
	t.Parallel()
	var k keyedMutex
	const keys, workers, rounds = 4, 8, 50
	var inside [keys]atomic.Int32
	var overlaps atomic.Int32 // require must not be called off the test goroutine
	var wg sync.WaitGroup
	for w := range workers * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := w % keys
			for range rounds {
				unlock := k.lock(strconv.Itoa(key))
				if inside[key].Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(10 * time.Microsecond) // widen the window for a second holder
				inside[key].Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	require.Zero(t, overlaps.Load(), "two goroutines held the same key at once")
	require.Zero(t, k.size(), "every key was unlocked: the map must be empty")
}

func TestKeyedMutexOtherKeysDoNotWait(t *testing.T) {
	t.Parallel()
	var k keyedMutex
	unlockA := k.lock("a")
	done := make(chan struct{})
	go func() {
		k.lock("b")()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("key b waited for key a")
	}
	require.Equal(t, 1, k.size(), "only a is held")

	// A waiter keeps the entry alive after the holder unlocks.
	got := make(chan func())
	go func() { got <- k.lock("a") }()
	require.Eventually(t, func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.entries["a"] != nil && k.entries["a"].refs == 2
	}, 5*time.Second, time.Millisecond)
	unlockA()
	unlockA2 := <-got
	require.Equal(t, 1, k.size())
	unlockA2()
	require.Zero(t, k.size())
}
