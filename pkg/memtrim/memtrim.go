package memtrim

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rampart-platform/rampart/pkg/periodic"
)

// Defaults of Options.
const (
	DefaultInterval  = 2 * time.Second
	DefaultQuiet     = 3 // intervals
	DefaultQuietRate = 256 << 10
	// DefaultMinGrowth bounds what a short burst leaves in the heap: the
	// heap grows by up to what was allocated before the next collection
	// (a few hundred chat requests, ~8 MB, left inference 7 MB more
	// anonymous memory at 8 MB; ADR 0087).
	DefaultMinGrowth = 2 << 20
)

// Options tune Run; zero fields take the defaults.
type Options struct {
	// Interval is how often the allocation counter is read.
	Interval time.Duration
	// Quiet is how many intervals in a row must each allocate less than
	// QuietBytes before the process counts as idle.
	Quiet int
	// QuietBytes is what an interval may allocate and still be quiet
	// (background timers, health probes and metric scrapes allocate a
	// little).
	QuietBytes uint64
	// MinGrowth is how much must have been allocated since the last
	// release for another one to be worth a collection: a process that
	// stayed idle has nothing new to give back.
	MinGrowth uint64
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Quiet <= 0 {
		o.Quiet = DefaultQuiet
	}
	if o.QuietBytes == 0 {
		o.QuietBytes = DefaultQuietRate
	}
	if o.MinGrowth == 0 {
		o.MinGrowth = DefaultMinGrowth
	}
	return o
}

// ReleaseStartup drops what setting the service up left behind: it
// collects twice, so what sync.Pools held (goose's 4 MB scanner buffers) is
// freed too, and returns every free page to the operating system. Call it
// once, after set-up and before serving.
func ReleaseStartup() {
	runtime.GC()
	debug.FreeOSMemory()
	releaseBinary()
}

// StopHeapProfile stops recording the heap profile, for a process that
// serves no profiles (RAMPART_PPROF off: nobody can read it). The runtime
// samples an allocation every 512 KB by default and, for each sample,
// walks the allocating stack (reading the binary's PC tables, which then
// stay resident) and keeps the stack in a bucket table (1.4 MB reserved):
// about 1 MB of an idle inference's RSS after a burst (ADR 0056). The
// package initialisers' samples, taken before this can run, stay.
func StopHeapProfile() { runtime.MemProfileRate = 0 }

// Run releases memory once the process is first quiet after it started,
// then after each busy period that is followed by a quiet window (Options),
// until ctx ends. It always returns nil (a lifecycle
// task).
func Run(ctx context.Context, o Options) error {
	o = o.withDefaults()
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	w := newWatcher(o, allocated(sample))
	periodic.Every(ctx, o.Interval, func(context.Context) {
		switch w.observe(allocated(sample)) {
		case releaseAll:
			release()
			w.released(allocated(sample))
		case releasePages:
			releaseBinary()
		case releaseNone:
		}
	})
	return nil
}

// stackShrinks is how many collections a release runs before returning
// pages. A collection halves the stack of every goroutine using less than a
// quarter of it; handler goroutines that are kept for reuse (gRPC stream
// workers, 128 per server) keep the stacks a burst grew them to (16–32 KB),
// and each collection shrinks them one step further. Three bring 32 KB
// down to 4 KB: ~2 MB of an idle inference after a burst (ADR 0056). The
// next burst grows them again, once per worker.
const stackShrinks = 3

// release collects, so that idle goroutines' stacks shrink and what pools
// held is freed, and returns every free page. It costs an idle process a
// few collections of its live heap once per busy period.
func release() {
	// FreeOSMemory collects before it returns the pages: that collection
	// is the last of the stackShrinks (a separate one would be a fourth).
	for range stackShrinks - 1 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	releaseBinary()
}

// watcher decides, from the cumulative allocation counter read once per
// interval, when to release.
type watcher struct {
	o            Options
	last         uint64 // counter at the previous observation
	sinceRelease uint64 // counter at the last release
	quiet        int    // quiet intervals in a row
	// started is whether the process has been quiet once since it
	// started: the first quiet window releases whatever the allocation
	// count, because serving the first calls after ReleaseStartup
	// (connections, the stack's own bootstrap) touched the binary again.
	started bool
	// busy is whether an interval since the last release allocated at
	// least QuietBytes. Only a busy period raises the heap goal; what an
	// idle process allocates in a trickle (timers, probes, scrapes) the
	// regular collections and the background scavenger handle, so it
	// never triggers a release: without this, the trickle added up to
	// MinGrowth and an idle process ran a release (three collections)
	// every few minutes, forever.
	busy bool
	// unmapped is whether this busy period's quiet window already
	// unmapped the executable's pages (releasePages).
	unmapped bool
}

// action is what observe asks for.
type action int

const (
	releaseNone action = iota
	// releasePages unmaps the executable's pages a busy period touched
	// (releaseBinary), when it allocated too little for its heap to be
	// worth collections.
	releasePages
	// releaseAll is a release: collections, free pages, the executable's
	// pages.
	releaseAll
)

func newWatcher(o Options, now uint64) *watcher {
	return &watcher{o: o, last: now, sinceRelease: now}
}

// observe takes the counter at the end of an interval and says what to
// release now. A busy period that allocated less than MinGrowth still ran
// code and tables it may not run again (a few hundred requests map ~20 MB
// of the executable back): its quiet window unmaps them, once.
func (w *watcher) observe(now uint64) action {
	step := now - w.last
	w.last = now
	if step >= w.o.QuietBytes {
		w.quiet, w.busy, w.unmapped = 0, true, false
		return releaseNone
	}
	w.quiet++
	switch {
	case w.quiet < w.o.Quiet:
		return releaseNone
	case !w.started || w.busy && now-w.sinceRelease >= w.o.MinGrowth:
		return releaseAll
	case w.busy && !w.unmapped:
		w.unmapped = true
		return releasePages
	}
	return releaseNone
}

// released records a release at counter now.
func (w *watcher) released(now uint64) {
	w.sinceRelease, w.last, w.quiet, w.busy, w.started, w.unmapped = now, now, 0, false, true, false
}

// allocated is the bytes allocated on the heap since the process started,
// read into sample (one "/gc/heap/allocs:bytes" sample, reused).
func allocated(sample []metrics.Sample) uint64 {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
