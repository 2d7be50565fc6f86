package rotation

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule computes rotation times.
type Schedule interface {
	// Next returns the first rotation time strictly after t.
	Next(t time.Time) time.Time
	String() string
}

// ParseSchedule parses rate(N days|hours) or cron(min hour dom month dow
// [year]) in UTC. cron fields accept *, ?, numbers, lists, ranges and /step;
// year must be * if given.
func ParseSchedule(expr string) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[len("rate(") : len(expr)-1])
		if len(f) != 2 {
			return nil, fmt.Errorf("schedule %q: want rate(N days) or rate(N hours)", expr)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("schedule %q: N must be a positive integer", expr)
		}
		switch f[1] {
		case "day", "days":
			if n > 1000 {
				return nil, fmt.Errorf("schedule %q: at most 1000 days", expr)
			}
			return rate{d: time.Duration(n) * 24 * time.Hour, expr: expr}, nil
		case "hour", "hours":
			if n < 4 || n > 24*1000 {
				return nil, fmt.Errorf("schedule %q: hours must be 4 or more", expr)
			}
			return rate{d: time.Duration(n) * time.Hour, expr: expr}, nil
		}
		return nil, fmt.Errorf("schedule %q: unit must be days or hours", expr)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr)
	}
	return nil, fmt.Errorf("schedule %q: want rate(N days) or cron(...)", expr)
}

type rate struct {
	d    time.Duration
	expr string
}

func (r rate) Next(t time.Time) time.Time { return t.Add(r.d) }
func (r rate) String() string             { return r.expr }

type cron struct {
	min, hour, dom, mon, dow uint64 // bit sets
	domStar, dowStar         bool
	expr                     string
}

func parseCron(expr string) (Schedule, error) {
	f := strings.Fields(expr[len("cron(") : len(expr)-1])
	if len(f) == 6 {
		if f[5] != "*" && f[5] != "?" {
			return nil, fmt.Errorf("schedule %q: year must be *", expr)
		}
		f = f[:5]
	}
	if len(f) != 5 {
		return nil, fmt.Errorf("schedule %q: cron needs 5 fields (minute hour day-of-month month day-of-week)", expr)
	}
	c := cron{expr: expr}
	var err error
	bounds := [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	dst := [5]*uint64{&c.min, &c.hour, &c.dom, &c.mon, &c.dow}
	for i := range f {
		if *dst[i], err = cronField(f[i], bounds[i][0], bounds[i][1]); err != nil {
			return nil, fmt.Errorf("schedule %q: field %d: %w", expr, i+1, err)
		}
	}
	c.domStar = f[2] == "*" || f[2] == "?"
	c.dowStar = f[4] == "*" || f[4] == "?"
	// A day that never comes (cron(0 0 31 2 *)) would never rotate.
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("schedule %q: never fires", expr)
	}
	return c, nil
}

func cronField(s string, lo, hi int) (uint64, error) {
	var bits uint64
	for part := range strings.SplitSeq(s, ",") {
		step := 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("bad step in %q", part)
			}
			step, part = n, part[:i]
		}
		a, b := lo, hi
		switch {
		case part == "*" || part == "?":
		case strings.Contains(part, "-"):
			x, y, _ := strings.Cut(part, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b, err2 = strconv.Atoi(y)
			if err1 != nil || err2 != nil || a > b {
				return 0, fmt.Errorf("bad range %q", part)
			}
		default:
			n, err := strconv.Atoi(part)
			if err != nil {
				return 0, fmt.Errorf("bad value %q", part)
			}
			a, b = n, n
		}
		if a < lo || b > hi {
			return 0, fmt.Errorf("%q out of range %d-%d", part, lo, hi)
		}
		for v := a; v <= b; v += step {
			bits |= 1 << uint(v) //nolint:gosec // 0..59
		}
	}
	return bits, nil
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 } //nolint:gosec // small

func (c cron) dayOK(t time.Time) bool {
	dom, dow := has(c.dom, t.Day()), has(c.dow, int(t.Weekday()))
	switch {
	case c.domStar && c.dowStar:
		return true
	case c.domStar:
		return dow
	case c.dowStar:
		return dom
	default:
		return dom || dow
	}
}

func (c cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	end := t.AddDate(5, 0, 0)
	for t.Before(end) {
		if !has(c.mon, int(t.Month())) || !c.dayOK(t) {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
			continue
		}
		if !has(c.hour, t.Hour()) {
			t = t.Truncate(time.Hour).Add(time.Hour)
			continue
		}
		if !has(c.min, t.Minute()) {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

func (c cron) String() string { return c.expr }
