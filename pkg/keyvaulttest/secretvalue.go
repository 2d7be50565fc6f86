package keyvaulttest

import (
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// The secret read's answer (GetSecretValueResponse) is written by hand on
// both ends of the hop: keyvault encodes it with protowire, the edge turns
// the wire message straight into the gateway's JSON (issue 15, ADRs 0091
// and 0101). Both are checked the same way — byte for byte against
// protobuf (proto, protojson) on one table of awkward messages and on
// random ones — and benchmarked on the same message, from here.

// SecretValueCase is one answer a hand-written codec must treat exactly as
// protobuf does.
type SecretValueCase struct {
	Desc  string
	Value *keyvaultv1.GetSecretValueResponse
}

// The range protojson writes as an RFC 3339 time (years 1 to 9999).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// SecretValueCases are the table: the typical answer, binary values, every
// character class that JSON escapes, times at and past protojson's range,
// invalid UTF-8 (proto refuses to marshal it and to decode it), unknown
// fields and values, and messages above grpc-go's buffer-pooling
// threshold. Each call returns fresh messages.
func SecretValueCases() []SecretValueCase {
	ts := func(s int64, n int32) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: s, Nanos: n} }
	type r = keyvaultv1.GetSecretValueResponse
	unknown := &r{Name: "n"}
	unknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	unknownTime := ts(5, 5)
	unknownTime.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))
	return []SecretValueCase{
		{"empty", &r{}},
		{"typical text", &r{Name: "/dev/app/db/main", VersionId: "58725695-d9f4-47d7-88f3-ceb61b308750",
			SecretString: "hunter2", VersionStages: []string{"AWSCURRENT", "AWSPREVIOUS"}, Arn: "arn:rampart:keyvault::t_1:secret:/dev/app/db/main-3140e5",
			CreatedAt: ts(1796000000, 202559577), ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT}},
		{"binary", &r{Name: "b", SecretBinary: []byte{0, 1, 2, 0xff, 0xfe, 'x'}, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_BINARY}},
		{"escapes", &r{SecretString: "q\"b\\s/ <&> \b\f\n\r\t \x00\x01\x1f\x7f é 日本 \u2028\u2029 😀"}},                               //nolint:gosec // G101: test data, no credential
		{"json value", &r{SecretString: `{"user":"app","password":"p\"w"}`, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_JSON}}, //nolint:gosec // G101: test data, no credential
		{"unknown enum value", &r{ContentType: keyvaultv1.ContentType(42)}},
		{"negative enum value", &r{ContentType: keyvaultv1.ContentType(-3)}},
		{"whole seconds", &r{CreatedAt: ts(1796000000, 0)}},
		{"milliseconds", &r{CreatedAt: ts(1796000000, 120000000)}},
		{"microseconds", &r{CreatedAt: ts(1796000000, 120300000)}},
		{"nanoseconds", &r{CreatedAt: ts(1796000000, 1)}},
		{"epoch: a zero time", &r{CreatedAt: ts(0, 0)}},
		{"before 1970", &r{CreatedAt: ts(-1, 5)}},
		{"first second", &r{CreatedAt: ts(minTimestampSeconds, 0)}},
		{"last second", &r{CreatedAt: ts(maxTimestampSeconds, 999999999)}},
		{"after year 9999: protojson refuses", &r{CreatedAt: ts(maxTimestampSeconds+1, 0)}},
		{"negative nanos", &r{CreatedAt: ts(5, -1)}},
		{"before year 1 and negative nanos", &r{CreatedAt: ts(minTimestampSeconds, -1)}},
		{"invalid UTF-8", &r{SecretString: "a\xffb"}},
		{"invalid UTF-8 in a stage", &r{VersionStages: []string{"ok", "\xc3"}}},
		{"an empty stage", &r{VersionStages: []string{"", "x"}}},
		{"above the pooling threshold", &r{Name: "big", SecretString: strings.Repeat("x", 70_000)}},
		{"binary above the pooling threshold", &r{SecretBinary: make([]byte, 5000)}},
		{"unknown fields", unknown},
		{"unknown fields in the time", &r{CreatedAt: unknownTime}},
	}
}

// RandomSecretValues returns n answers drawn from seed: strings over the
// characters that need care in JSON and protobuf (quotes, controls, the
// JS line separators, multi-byte runes, NUL), up to four stages, binary
// values now and then, any content type, and a time in protojson's range
// with whole, milli-, micro- or nanosecond precision — or, one time in
// eight, any seconds and nanos, which protojson refuses.
func RandomSecretValues(seed uint64, n int) []*keyvaultv1.GetSecretValueResponse {
	rng := rand.New(rand.NewPCG(seed, seed^0x5ec)) //nolint:gosec // G404: test data
	alphabet := []rune("aZ09 \"\\/\b\f\n\r\t\x00\x01\x1f\x7fé日\u2028😀<>&")
	str := func(most int) string {
		var b strings.Builder
		for range rng.IntN(most) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	out := make([]*keyvaultv1.GetSecretValueResponse, 0, n)
	for range n {
		r := &keyvaultv1.GetSecretValueResponse{Name: str(40), VersionId: str(40), SecretString: str(300), Arn: str(90),
			ContentType: keyvaultv1.ContentType(rng.Int32N(4))}
		for range rng.IntN(5) {
			r.VersionStages = append(r.VersionStages, str(12))
		}
		if rng.IntN(4) == 0 {
			r.SecretBinary = []byte(str(60))
		}
		switch rng.IntN(8) {
		case 0:
		case 1:
			r.CreatedAt = &timestamppb.Timestamp{Seconds: rng.Int64N(1<<40) - 1<<39, Nanos: rng.Int32N(2e9) - 1e9}
		default:
			nanos := rng.Int32N(1e9)
			nanos -= nanos % [...]int32{1e9, 1e6, 1e3, 1}[rng.IntN(4)]
			r.CreatedAt = &timestamppb.Timestamp{Seconds: minTimestampSeconds + rng.Int64N(maxTimestampSeconds-minTimestampSeconds+1), Nanos: nanos}
		}
		out = append(out, r)
	}
	return out
}

// ForEachSecretValue runs check on every case of SecretValueCases (each
// as a subtest) and on 500 RandomSecretValues.
func ForEachSecretValue(t *testing.T, check func(t *testing.T, r *keyvaultv1.GetSecretValueResponse)) {
	t.Helper()
	for _, tc := range SecretValueCases() {
		t.Run(tc.Desc, func(t *testing.T) { check(t, tc.Value) })
	}
	t.Run("random", func(t *testing.T) {
		for _, r := range RandomSecretValues(3, 500) {
			check(t, r)
		}
	})
}

// BenchSecretValue is the answer make bench-stack reads (its name, value
// and shape), for the codecs' benchmarks.
func BenchSecretValue() *keyvaultv1.GetSecretValueResponse {
	return &keyvaultv1.GetSecretValueResponse{Name: "/dev/bench/token/one", VersionId: "58725695-d9f4-47d7-88f3-ceb61b308750",
		SecretString: "bench-secret-value-0123456789", VersionStages: []string{"AWSCURRENT"},
		Arn: "arn:rampart:keyvault::t_a4094348e7094ec551ba:secret:/dev/bench/token/one-a181b1", ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT,
		CreatedAt: &timestamppb.Timestamp{Seconds: 1796000000, Nanos: 202559577}}
}

// SecretValueWire encodes r as proto's deterministic marshaler does —
// fields in number order, zero values and an unset time left out, every
// stage written, unknown fields last — but without its UTF-8 check, so an
// invalid string reaches a decoder as a misbehaving peer could send it.
func SecretValueWire(r *keyvaultv1.GetSecretValueResponse) []byte {
	var b []byte
	str := func(n protowire.Number, v string) {
		if v != "" {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendString(b, v)
		}
	}
	str(1, r.GetName())
	str(2, r.GetVersionId())
	str(3, r.GetSecretString())
	if len(r.GetSecretBinary()) > 0 {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, r.GetSecretBinary())
	}
	for _, s := range r.GetVersionStages() {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	str(6, r.GetArn())
	if ts := r.GetCreatedAt(); ts != nil {
		var t []byte
		if ts.GetSeconds() != 0 {
			t = protowire.AppendTag(t, 1, protowire.VarintType)
			t = protowire.AppendVarint(t, uint64(ts.GetSeconds())) //nolint:gosec // G115: proto's encoding of an int64
		}
		if ts.GetNanos() != 0 {
			t = protowire.AppendTag(t, 2, protowire.VarintType)
			t = protowire.AppendVarint(t, uint64(int64(ts.GetNanos()))) //nolint:gosec // G115: proto's encoding of an int32
		}
		t = append(t, ts.ProtoReflect().GetUnknown()...)
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, t)
	}
	if ct := r.GetContentType(); ct != 0 {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(ct))) //nolint:gosec // G115: proto's encoding of an enum
	}
	return append(b, r.ProtoReflect().GetUnknown()...)
}

// HasUnknownFields reports whether r or its time carries unknown fields
// (which proto writes back and a hand-written decoder leaves to proto).
func HasUnknownFields(r *keyvaultv1.GetSecretValueResponse) bool {
	return len(r.ProtoReflect().GetUnknown()) > 0 || (r.GetCreatedAt() != nil && len(r.GetCreatedAt().ProtoReflect().GetUnknown()) > 0)
}
