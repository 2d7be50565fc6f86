// Package periodic is the one ticker loop of Rampart's background tasks
// (ADR 0136): Every calls a function each interval until its context
// ends, on the caller's goroutine, so a task started with env.Go (or any
// goroutine the caller awaits) is the whole loop.
//
// What the callers need and nothing more: the first call one interval
// after the start, or at once (AtStart); an extra call when a channel
// receives (OnWake); no call once the context has ended, so what a task
// does at shutdown (flush, release a lease) follows Every's return. Ticks
// missed while the function runs are dropped, not queued (time.Ticker).
// There is no jitter: the loops that must not run on two replicas at once
// take a lease in the database, the others only read or poll.
//
// A loop whose interval changes, that stops from inside, or that waits on
// several channels doing different work stays hand-written (ADR 0136
// lists them).
package periodic
