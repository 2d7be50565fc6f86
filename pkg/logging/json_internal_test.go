package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// both returns the encoder under test and slog's own JSON handler, each
// writing to its own buffer.
func both(level slog.Level) (fast *jsonHandler, fastOut *bytes.Buffer, ref slog.Handler, refOut *bytes.Buffer) {
	fastOut, refOut = new(bytes.Buffer), new(bytes.Buffer)
	return newJSONHandler(fastOut, level), fastOut, slog.NewJSONHandler(refOut, &slog.HandlerOptions{Level: level}), refOut
}

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue("resolved " + string(v)) }

var when = time.Date(2026, 12, 6, 14, 31, 8, 505109800, time.UTC)

// attrCases are attributes of every kind, the encoder's and the fallback's.
var attrCases = map[string][]slog.Attr{
	"access line": {
		slog.String("tenant_id", "t_2309db64991c2f5cd040"), slog.String("method", "POST"),
		slog.String("path", "/v1/chat/completions"), slog.Int("status", 200), slog.Int64("bytes", 382),
		slog.Int64("duration_us", 5134), slog.String("client_ip", "127.0.0.1"), slog.String("client_request_id", ""),
	},
	"escapes":           {slog.String("s", "quote \" backslash \\ nl \n cr \r tab \t nul \x00 bel \x07 us \x1f del \x7f <html>&amp;")},
	"unicode":           {slog.String("s", "héllo wörld ☃ 😀 \u2028 line \u2029 para \u00a0 nbsp"), slog.String("ключ", "значение")},
	"escaped key":       {slog.String("k\"e\ny", "v")},
	"invalid utf8":      {slog.String("s", "bad \xff byte")},
	"invalid utf8 key":  {slog.String("bad\xfe", "v")},
	"numbers":           {slog.Int64("min", math.MinInt64), slog.Uint64("max", math.MaxUint64), slog.Int("zero", 0)},
	"bool and duration": {slog.Bool("t", true), slog.Bool("f", false), slog.Duration("d", 1500*time.Millisecond)},
	"times": {
		slog.Time("t", when), slog.Time("zone", when.In(time.FixedZone("x", -7*3600))),
		slog.Time("zero", time.Time{}), slog.Time("far", time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)),
	},
	"float":        {slog.Float64("f", 0.1), slog.Float64("big", 1e21), slog.Float64("nan", math.NaN())},
	"any":          {slog.Any("err", errors.New("boom")), slog.Any("m", map[string]int{"a": 1}), slog.Any("nil", nil)},
	"group":        {slog.Group("g", slog.String("a", "b")), slog.Group("empty"), slog.Group("", slog.Int("inl", 1))},
	"log valuer":   {slog.Any("v", valuer("x"))},
	"empty key":    {slog.String("", "v"), {}},
	"no attrs":     nil,
	"duplicate":    {slog.String("a", "1"), slog.String("a", "2")},
	"long":         {slog.String("s", string(bytes.Repeat([]byte("abcdefgh"), 300)))},
	"control only": {slog.String("\x01", "\x02")},
}

func TestJSONHandlerWritesSlogsLines(t *testing.T) {
	ctx := context.Background()
	for name, attrs := range attrCases {
		for _, msg := range []string{"http request", "", "msg \"quoted\"\n", "bad \xff msg"} {
			for _, tm := range []time.Time{when, {}, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
				t.Run(name, func(t *testing.T) {
					fast, fastOut, ref, refOut := both(slog.LevelDebug)
					r := slog.NewRecord(tm, slog.LevelWarn+2, msg, 0)
					r.AddAttrs(attrs...)
					require.NoError(t, fast.Handle(ctx, r))
					require.NoError(t, ref.Handle(ctx, r))
					require.Equal(t, refOut.String(), fastOut.String())

					// The attribute path the access logs use.
					fastOut.Reset()
					if done, err := fast.handleAttrs(tm, slog.LevelWarn+2, msg, attrs); !done {
						require.NoError(t, fast.Handle(ctx, r))
					} else {
						require.NoError(t, err)
					}
					require.Equal(t, refOut.String(), fastOut.String())
				})
			}
		}
	}
}

// TestJSONHandlerLevels: every level, the four named ones (written as
// constants) and those between and beyond them (quoted as slog names
// them), is written as slog's handler writes it.
func TestJSONHandlerLevels(t *testing.T) {
	ctx := context.Background()
	for _, lv := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelDebug + 1, slog.LevelInfo,
		slog.LevelInfo + 2, slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		t.Run(lv.String(), func(t *testing.T) {
			fast, fastOut, ref, refOut := both(slog.LevelDebug - 4)
			r := slog.NewRecord(when, lv, "http request", 0)
			r.AddAttrs(attrCases["access line"]...)
			require.NoError(t, fast.Handle(ctx, r))
			require.NoError(t, ref.Handle(ctx, r))
			require.Equal(t, refOut.String(), fastOut.String())
		})
	}
}

func TestJSONHandlerWithAttrsAndGroups(t *testing.T) {
	ctx := context.Background()
	fast, fastOut, ref, refOut := both(slog.LevelInfo)
	steps := []func(h slog.Handler) slog.Handler{
		func(h slog.Handler) slog.Handler { return h.WithAttrs(nil) },
		func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("service", "edge")}) },
		func(h slog.Handler) slog.Handler { return h.WithGroup("") },
		func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Int("n", 1), slog.String("e\"sc", "\u2028")})
		},
		func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.Float64("f", 2.5)}) },
		func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("after", "float")}) },
		func(h slog.Handler) slog.Handler { return h.WithGroup("grp") },
		func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("in", "group")}) },
	}
	var fh, rh slog.Handler = fast, ref
	for i, step := range steps {
		fh, rh = step(fh), step(rh)
		for _, attrs := range attrCases {
			fastOut.Reset()
			refOut.Reset()
			r := slog.NewRecord(when, slog.LevelInfo, "m", 0)
			r.AddAttrs(attrs...)
			require.NoError(t, fh.Handle(ctx, r))
			require.NoError(t, rh.Handle(ctx, r))
			require.Equal(t, refOut.String(), fastOut.String(), "step %d", i)
		}
	}
}

func TestJSONHandlerEnabled(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	h := newJSONHandler(new(bytes.Buffer), &lv)
	ref := slog.NewJSONHandler(new(bytes.Buffer), &slog.HandlerOptions{Level: &lv})
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelWarn - 1} {
		require.Equal(t, ref.Enabled(context.Background(), l), h.Enabled(context.Background(), l), "level %v", l)
	}
	require.True(t, newJSONHandler(new(bytes.Buffer), nil).Enabled(context.Background(), slog.LevelInfo))
	require.False(t, newJSONHandler(new(bytes.Buffer), nil).Enabled(context.Background(), slog.LevelDebug))
}

// FuzzJSONHandler: any key and string value, and any message, are written
// as slog writes them.
func FuzzJSONHandler(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\x00\x1f\x7f", "\u2028\u2029", "😀", "\xff", "\xe2\x80"} {
		f.Add(s, s, s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, key, val, msg string, n int64) {
		fast, fastOut, ref, refOut := both(slog.LevelInfo)
		r := slog.NewRecord(when, slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(key, val), slog.Int64("n", n), slog.String("k", key))
		require.NoError(t, fast.Handle(context.Background(), r))
		require.NoError(t, ref.Handle(context.Background(), r))
		require.Equal(t, refOut.String(), fastOut.String())
	})
}
