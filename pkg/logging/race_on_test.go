//go:build race

package logging_test

// raceEnabled: the race detector adds allocations, so allocation counts
// are checked without it only.
const raceEnabled = true
