// Package memtrim gives memory back to the operating system when a
// service has nothing to do (issue 15: < 50 MB RSS per idle service).
//
// Go's runtime keeps freed heap pages mapped up to about the heap goal of
// the last collection (GOGC × the live heap), and a process that goes
// quiet after a burst runs no collection that would lower that goal for
// minutes (the forced collection every two minutes does not return pages
// either). Two moments leave such a surplus behind:
//
//   - start-up: schema migrations (goose keeps 4 MB scanner buffers in a
//     sync.Pool, one per migration file parsed in parallel), compiled
//     schemas and certificates leave tens of MB of garbage, and the first
//     collection sets the heap goal from it;
//   - the end of a burst of requests: the heap grew to the goal of the
//     busy period.
//
// A release after a busy period runs a few collections, so that parked
// goroutines' grown stacks (reused gRPC handler goroutines keep them)
// shrink step by step, then returns the pages.
//
// The heap is not all: most of an idle service's RSS was the pages of its
// own executable it touched once — package initialisers, set-up, the first
// calls of a burst — and never again (20–34 MB of a 27–50 MB service; an
// idle one uses ~2 MB of them, though with the binary in large page-cache
// folios each touch maps up to 2 MB). Each release also unmaps the executable's
// read-only pages (code and tables, never its variables) with
// MADV_DONTNEED: they stay in the page cache, and whatever runs next maps
// its pages back with minor faults, no I/O (ADR 0087).
//
// ReleaseStartup collects twice (a sync.Pool survives one collection) and
// returns the free pages once the service is set up. Run watches the
// allocation counter every few seconds and, when a busy period is followed
// by a quiet window (and once in the first quiet window after the start,
// busy or not), collects three times (the last is FreeOSMemory's
// own) and returns the free pages; it does nothing while the process is
// busy, so the collector's pacing under load (GOGC, GOMEMLIMIT) is
// unchanged, and nothing while it stays idle: the trickle an idle process
// allocates (timers, probes, scrapes) never counts as a busy period. A
// release costs three collections of the live heap (a few ms of CPU) once
// per burst, and no CPU at all in between. A busy period that allocated too
// little for collections (MinGrowth) still unmaps the executable's pages it
// touched, once, in its quiet window.
package memtrim
