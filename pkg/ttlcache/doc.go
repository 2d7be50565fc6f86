// Package ttlcache is the one bounded TTL-LRU of the repository (ADR 0102):
// the secrets client's cache, the tenant data-key cache and the Slack
// adapter's org cache keep their entries in it and add their own rules on
// top (stale serving, in-flight loads dropped by Forget, negative answers).
//
// Each entry has its own deadline, given when it is put, so one cache holds
// entries of different lifetimes (a short negative answer beside a long
// positive one, a jittered TTL). The cache reads no clock: every call that
// depends on the time is given it, so its users keep their own clocks (fake
// ones in tests) and no goroutine sweeps in the background. An entry past
// its deadline is never returned; it is dropped when looked up, or evicted
// as the least recently used one when the bound is reached.
//
// A new bounded cache with expiry uses this package and writes only its own
// rules, not another list and map (hashicorp/golang-lru's expirable LRU has
// one TTL per cache, its own clock and sweeper: ADR 0102 says why not).
package ttlcache
