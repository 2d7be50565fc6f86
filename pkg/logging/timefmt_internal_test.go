package logging

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAppendRFC3339Nano: the cached second plus the fraction is
// AppendFormat(RFC3339Nano) for every year slog writes, fractions with and
// without trailing zeros, UTC, fixed and DST zones, times in the same
// second and alternating locations (each a cache miss), concurrently.
func TestAppendRFC3339Nano(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	locs := []*time.Location{time.UTC, time.Local, ny, time.FixedZone("", 5*3600+1800), time.FixedZone("X", -(9*3600 + 59*60))}
	fracs := []int{0, 1, 10, 100_000, 120_000_000, 999_999_999, 500_000_000, 123_456_789, 100}
	check := func(tm time.Time) {
		assert.Equal(t, tm.Format(time.RFC3339Nano), string(appendRFC3339Nano([]byte("x"), tm)[1:]), "%v", tm)
	}
	minSec := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxSec := time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	var wg sync.WaitGroup
	for g := range uint64(4) {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(3, g))
			for i := range 20_000 {
				sec := minSec + rng.Int64N(maxSec-minSec)
				if i%2 == 0 { // around now and a DST change
					sec = time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC).Unix() + rng.Int64N(180)
				}
				loc := locs[(i+int(g))%len(locs)] //nolint:gosec // g < 4
				tm := time.Unix(sec, int64(fracs[i%len(fracs)])).In(loc)
				check(tm)
				check(tm.Add(time.Duration(rng.IntN(1000)))) // the same second, mostly
			}
		})
	}
	wg.Wait()
	check(time.Now()) // with a monotonic reading
}
