package jsonwrite_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rampart-platform/rampart/pkg/jsonwrite"
)

var texts = []string{"", "plain", "a\"b\\c", "\b\f\n\r\t\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"é ü 日本 😀", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xe2\x80", "/slash/", "tab\there", "\u00a0 nbsp \ufffd"}

// checkMarshal: AppendString writes what json.Marshal writes.
func checkMarshal(t *testing.T, s string) {
	want, err := json.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, string(want), string(jsonwrite.AppendString([]byte("x"), s))[1:], "%q", s)
}

// TestEveryByteInARun: every byte value at every offset of a run of safe
// bytes (start, middle, end), against each encoder.
func TestEveryByteInARun(t *testing.T) {
	for c := range 256 {
		for p := range 20 {
			b := []byte("plain text of a line")
			b[p] = byte(c)
			checkMarshal(t, string(b))
			checkSlog(t, string(b))
			checkProto(t, string(b))
		}
	}
}

// Each variant against its encoder, on the texts; the fuzz tests below
// extend them to any string.
func TestStringsMatchTheirEncoders(t *testing.T) {
	for name, check := range map[string]func(*testing.T, string){
		"encoding/json": checkMarshal, "slog": checkSlog, "protojson": checkProto,
	} {
		t.Run(name, func(t *testing.T) {
			for _, s := range texts {
				check(t, s)
			}
		})
	}
}

func fuzzStrings(f *testing.F, check func(*testing.T, string)) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(check)
}

func FuzzAppendString(f *testing.F)      { fuzzStrings(f, checkMarshal) }
func FuzzAppendSlogString(f *testing.F)  { fuzzStrings(f, checkSlog) }
func FuzzAppendProtoString(f *testing.F) { fuzzStrings(f, checkProto) }

// slogQuote is s as slog's JSON handler writes a string attribute's value.
func slogQuote(t *testing.T, s string) string {
	t.Helper()
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("", "k", s)
	line := strings.TrimSuffix(out.String(), "\n")
	require.True(t, strings.HasPrefix(line, `{"k":`) && strings.HasSuffix(line, "}"), "%s", line)
	return line[len(`{"k":`) : len(line)-1]
}

// checkSlog: valid UTF-8 is written as slog writes it; invalid is refused.
func checkSlog(t *testing.T, s string) {
	got, ok := jsonwrite.AppendSlogString([]byte("x"), s)
	require.Equal(t, utf8.ValidString(s), ok, "%q", s)
	if ok {
		require.Equal(t, slogQuote(t, s), string(got[1:]), "%q", s)
	}
}

// checkProto: valid UTF-8 is written as protojson writes a string (its
// whitespace does not reach inside a string); invalid is refused, as
// protojson refuses it.
func checkProto(t *testing.T, s string) {
	want, werr := protojson.Marshal(structpb.NewStringValue(s))
	got, ok := jsonwrite.AppendProtoString([]byte("x"), s)
	require.Equal(t, werr == nil, ok, "%q: %v", s, werr)
	if ok {
		require.Equal(t, string(want), string(got[1:]), "%q", s)
	}
}

func TestAppendFloatMatchesMarshal(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.2, 1.5, 2, 1e-7, 1e-6, 123456789, 1e20, 1e21, 1e300, -0.000001, math.SmallestNonzeroFloat64, math.MaxFloat64, 0.1 + 0.2} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(jsonwrite.AppendFloat(nil, f)), "%v", f)
	}
}

var benchText = "The quick brown fox jumps over the lazy dog; \"quoted\" and a new line\n, in ASCII mostly — with one dash."

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			buf = jsonwrite.AppendString(buf[:0], benchText)
		}
	})
	b.Run("slog", func(b *testing.B) {
		for b.Loop() {
			buf, _ = jsonwrite.AppendSlogString(buf[:0], benchText)
		}
	})
	b.Run("proto", func(b *testing.B) {
		for b.Loop() {
			buf, _ = jsonwrite.AppendProtoString(buf[:0], benchText)
		}
	})
}

func TestAppendArrayMatchesMarshal(t *testing.T) {
	for _, s := range [][]string{nil, {}, {"a"}, {"a", "<b>", ""}} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(jsonwrite.AppendArray(nil, s, jsonwrite.AppendStringElem)), "%q", s)
	}
}

// secretTexts are the strings of the REST secret read's answer (ADR 0109).
var secretTexts = []string{"/dev/bench/token/one", "6a26fc18-5b49-4b37-8abb-b65eeec48b96", "bench-secret-value-0123456789",
	"AWSCURRENT", "arn:rampart:keyvault::t_b309d434c9f9e1b69ab1:secret:/dev/bench/token/one-7fc41b"}

func BenchmarkAppendSecretStrings(b *testing.B) {
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = buf[:0]
		for _, s := range secretTexts {
			buf, _ = jsonwrite.AppendProtoString(buf, s)
		}
	}
}

// TestEveryByteAtEveryLength: every byte value at every position of safe
// strings of 1 to 25 bytes and just after a byte that is escaped, so each
// eight-byte step, the last-eight-bytes check and the byte loop each meet
// it, against each encoder.
func TestEveryByteAtEveryLength(t *testing.T) {
	for n := 1; n <= 25; n++ {
		for _, prefix := range []string{"", "\"", "é"} {
			for p := range n {
				for c := range 256 {
					b := []byte(prefix + strings.Repeat("x", n))
					b[len(prefix)+p] = byte(c)
					checkMarshal(t, string(b))
					checkSlog(t, string(b))
					checkProto(t, string(b))
				}
			}
		}
	}
}
