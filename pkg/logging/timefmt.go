package logging

import (
	"sync/atomic"
	"time"
)

// appendRFC3339Nano appends t.Format(time.RFC3339Nano), the time slog's
// JSON handler writes, reusing the date, clock and zone of the second t is
// in: every log line formats the current time, and all of it but the
// fraction changes once a second (issue 15, ADR 0061: AppendFormat was ~10 %
// of an access-log line). The year must be in [0, 9999] (the callers check,
// as slog does).
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	c := lastSecond.Load()
	if c == nil || c.sec != sec || c.loc != loc {
		whole := t.AppendFormat(make([]byte, 0, len(time.RFC3339)), time.RFC3339)
		c = &secondText{sec: sec, loc: loc, clock: whole[:len("2006-01-02T15:04:05")], zone: whole[len("2006-01-02T15:04:05"):]}
		lastSecond.Store(c)
	}
	b = append(b, c.clock...)
	b = appendFraction(b, t.Nanosecond())
	return append(b, c.zone...)
}

// secondText is one second's text in one location: "2006-01-02T15:04:05"
// and "Z" or "-07:00". One location and instant have one offset.
type secondText struct {
	sec         int64
	loc         *time.Location
	clock, zone []byte
}

var lastSecond atomic.Pointer[secondText]

// appendFraction appends RFC3339Nano's ".999999999": the nanoseconds
// without trailing zeros, nothing for zero.
func appendFraction(b []byte, ns int) []byte {
	if ns == 0 {
		return b
	}
	var d [10]byte
	d[0] = '.'
	for i := 9; i >= 1; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}
