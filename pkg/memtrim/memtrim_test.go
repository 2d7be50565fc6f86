package memtrim

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWatcherReleasesOnceAfterABusyPeriod(t *testing.T) {
	o := Options{Quiet: 3, QuietBytes: 100, MinGrowth: 1000}.withDefaults()
	const (
		quiet = 10  // allocated in a quiet interval
		busy  = 500 // allocated in a busy one
	)
	// want has one letter per interval: '.' nothing, 'u' unmap the
	// executable's pages only, 'R' a whole release.
	tests := []struct {
		name  string
		fresh bool     // the process just started (no release yet)
		steps []uint64 // bytes allocated in each interval
		want  string
	}{
		{"just started and idle: released once, after the first quiet window", true, []uint64{quiet, quiet, quiet, quiet, quiet, quiet, quiet}, "..R...."},
		{"just started and busy: released once the start is quiet", true, []uint64{busy, busy, quiet, quiet, quiet, quiet}, "....R."},
		{"just started, then idle: the start's release is the last one", true, []uint64{quiet, quiet, quiet, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99}, "..R............"},
		{"idle since the start's release: nothing to give back", false, []uint64{quiet, quiet, quiet, quiet}, "...."},
		{"busy then quiet: released after the third quiet interval", false, []uint64{busy, busy, busy, quiet, quiet, quiet, quiet}, ".....R."},
		{"too little allocated for collections: the executable's pages only, once", false, []uint64{busy, quiet, quiet, quiet, quiet, quiet}, "...u.."},
		{"a busy interval restarts the quiet count", false, []uint64{busy, busy, busy, quiet, quiet, busy, quiet, quiet, quiet}, "........R"},
		{"a second busy period is released again", false, []uint64{busy, busy, busy, quiet, quiet, quiet, busy, busy, quiet, quiet, quiet}, ".....R....R"},
		{"a steady trickle below the quiet rate is never released", false, []uint64{99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99}, "........................"},
		{"after a release, the idle trickle does not release again", false, []uint64{busy, busy, busy, quiet, quiet, quiet, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99}, ".....R.............."},
		{"a short burst unmaps, then is released once the trickle makes it worth it", false, []uint64{busy, quiet, quiet, quiet, 99, 99, 99, 99, 99, 99, 99, 99}, "...u....R..."},
		{"each short burst unmaps again", false, []uint64{100, quiet, quiet, quiet, 100, quiet, quiet, quiet}, "...u...u"},
		{"each short burst unmaps, until together they are worth a release", false, []uint64{busy, quiet, quiet, quiet, busy, quiet, quiet, quiet}, "...u...R"},
	}
	letter := map[action]byte{releaseNone: '.', releasePages: 'u', releaseAll: 'R'}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.want, len(tt.steps))
			var now uint64 = 1 << 20
			w := newWatcher(o, now)
			if !tt.fresh {
				w.released(now) // the start-up release is behind it
			}
			got := make([]byte, 0, len(tt.steps))
			for _, step := range tt.steps {
				now += step
				a := w.observe(now)
				got = append(got, letter[a])
				if a == releaseAll {
					w.released(now)
				}
			}
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Interval: time.Millisecond, Quiet: 1, QuietBytes: 1 << 40, MinGrowth: 1})
	}()
	time.Sleep(20 * time.Millisecond) // several releases
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestReleaseStartupReturnsPooledGarbage: buffers parked in a sync.Pool
// (as goose parks its 4 MB scanner buffers) survive one collection; after
// ReleaseStartup they are gone and their pages are back with the OS.
func TestReleaseStartupReturnsPooledGarbage(t *testing.T) {
	var pool sync.Pool
	for range 8 {
		b := make([]byte, 4<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touched: resident
		}
		pool.Put(&b)
	}
	ReleaseStartup()
	// Absolute figures, not a difference: the background scavenger may
	// return some of it before ReleaseStartup runs, and under the race
	// detector sync.Pool drops a quarter of its Puts, which are garbage
	// (and scavenged) sooner.
	released := readUint(t, "/memory/classes/heap/released:bytes")
	live := readUint(t, "/memory/classes/heap/objects:bytes")
	require.Less(t, live, uint64(16<<20), "the pooled 32 MB should be collected")
	require.GreaterOrEqual(t, released, uint64(16<<20), "the pooled 32 MB should mostly be back with the OS")
	runtime.KeepAlive(&pool)
}

func readUint(t *testing.T, name string) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	require.Equal(t, metrics.KindUint64, s[0].Value.Kind())
	return s[0].Value.Uint64()
}

// TestStopHeapProfile: after it, allocations add nothing to the heap
// profile beyond the one sample each P had already armed (16 MB would be
// ~32 samples at the default rate).
func TestStopHeapProfile(t *testing.T) {
	old := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = old })
	sampled := func() int64 {
		runtime.GC() // the profile publishes what a cycle saw
		runtime.GC()
		n, _ := runtime.MemProfile(nil, true)
		recs := make([]runtime.MemProfileRecord, n+64)
		n, ok := runtime.MemProfile(recs, true)
		require.True(t, ok)
		var total int64
		for _, r := range recs[:n] {
			total += r.AllocObjects
		}
		return total
	}
	StopHeapProfile()
	require.Zero(t, runtime.MemProfileRate)
	before := sampled()
	keep := make([][]byte, 0, 16<<10)
	for range 16 << 10 {
		keep = append(keep, make([]byte, 1<<10))
	}
	runtime.KeepAlive(keep)
	require.LessOrEqual(t, sampled()-before, int64(runtime.GOMAXPROCS(0)))
}

// grow uses about depth KB of stack.
//
//go:noinline
func grow(depth int) byte {
	var pad [1024]byte
	if depth == 0 {
		return pad[0]
	}
	pad[depth%len(pad)] = byte(depth & 0xff) // any value the compiler cannot drop
	return grow(depth-1) + pad[(depth*7)%len(pad)]
}

// TestReleaseShrinksIdleStacks: goroutines parked after a deep call (as
// reused handler goroutines are after a burst) give their stacks back on
// a release.
func TestReleaseShrinksIdleStacks(t *testing.T) {
	stacks := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	const workers = 64
	park := make(chan struct{})
	var grown sync.WaitGroup
	var done sync.WaitGroup
	for range workers {
		grown.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			_ = grow(24) // ~24 KB: the stack grows to 32 KB
			grown.Done()
			<-park
		}()
	}
	grown.Wait()
	runtime.GC() // what a single collection already gives back
	before := stacks()
	release()
	after := stacks()
	close(park)
	done.Wait()
	t.Logf("stacks: %d KB → %d KB", before>>10, after>>10)
	require.Less(t, after, before-workers*8<<10, "each parked goroutine's stack shrinks by at least 8 KB more")
}
