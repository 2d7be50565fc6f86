//go:build race

package ann_test

// shrink divides the graph sizes of the tests under the race detector,
// which slows every lock and memory access of a build several-fold; the
// concurrency they exercise is the same at any size.
const shrink = 4
