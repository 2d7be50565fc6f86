package audit

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encode must write exactly json.Marshal's bytes for every record.
func TestEncodeIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 46, 5, 202559577, time.UTC)
	tests := []struct {
		desc string
		r    Record
	}{
		{"empty", Record{}},
		{"read", Record{Time: at, RequestID: "req-1", Tenant: "t_1", Caller: "spiffe://rampart.local/svc/edge", Subject: "root@example.com",
			KeyID: "k_1", Action: "GetSecretValue", Name: "/dev/app/db/main", VersionID: "58725695-d9f4", Stages: []string{"AWSCURRENT", "AWSPREVIOUS"}, Result: ResultOK}},
		{"denied with detail", Record{Time: at, Tenant: "t", Action: "GetSecretValue", Result: ResultDenied, Detail: "owned by spiffe://rampart.local/svc/ingestion"}},
		{"detail with quotes", Record{Time: at, Result: ResultNotFound, Detail: `secret "/dev/a/b" not found`}},
		{"HTML characters", Record{Time: at, Name: "a<b>&c"}},
		{"control and non-ASCII", Record{Time: at, Detail: "line\nnext\ttab é \u2028 \x00 \x7f"}},
		{"invalid UTF-8", Record{Time: at, Detail: "bad \xff"}},
		{"value fingerprint", Record{Time: at, ValueHMAC: "hmac-sha256:00ff"}},
		{"whole second", Record{Time: at.Truncate(time.Second)}},
		{"another zone", Record{Time: at.In(time.FixedZone("x", 3600))}},
		{"year 10000", Record{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"empty stage", Record{Time: at, Stages: []string{""}}},
		{"every field, longest time", Record{Time: time.Date(2026, 12, 6, 8, 46, 5, 202559577, time.FixedZone("y", -(9*3600+30*60))), RequestID: "r", Tenant: "t",
			Caller: "c", Subject: "s", KeyID: "k", Action: "a", Name: "n", VersionID: "v", Stages: []string{"A", "B", "C"}, Result: "ok", Detail: "d", ValueHMAC: "h"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { sameAsMarshal(t, tc.r) })
	}
	alphabet := []rune("aZ09/:-_. \"\\<>&\n\té\u2028\x01")
	rng := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 1000 {
		sameAsMarshal(t, Record{Time: at.Add(time.Duration(rng.Int64N(1e15))), RequestID: str(), Tenant: str(), Caller: str(), Subject: str(),
			KeyID: str(), Action: str(), Name: str(), VersionID: str(), Stages: []string{str()}[:rng.IntN(2)], Result: str(), Detail: str(), ValueHMAC: str()})
	}
}

func sameAsMarshal(t *testing.T, r Record) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := encode(r)
	if werr != nil {
		require.Error(t, gerr)
		return
	}
	require.NoError(t, gerr)
	require.Equal(t, string(want), string(got))
	if plain(r) && r.Time.Year() >= 0 && r.Time.Year() <= 9999 {
		// One allocation: the line and the file sink's newline fit the
		// capacity encode reserved.
		require.LessOrEqual(t, len(got)+1, encodedSize(r), "encodedSize too small")
		require.Equal(t, encodedSize(r), cap(got))
	}
}

func BenchmarkEncode(b *testing.B) {
	r := Record{Time: time.Now().UTC(), RequestID: "0f3c2a9e-4d1b", Tenant: "t_4567e9cfc820617ed2d4", Caller: "spiffe://rampart.local/svc/edge",
		Subject: "root@example.com", KeyID: "k_0123456789ab", Action: "GetSecretValue", Name: "/dev/bench/token/one",
		VersionID: "58725695-d9f4-47d7-88f3-ceb61b308750", Stages: []string{"AWSCURRENT"}, Result: ResultOK}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = encode(r)
		}
	})
}

// TestPlainByte: the table is the definition plain documents, for every
// byte.
func TestPlainByte(t *testing.T) {
	for c := range 256 {
		want := c >= 0x20 && c < 0x7f && !strings.ContainsRune(`"\<>&`, rune(c))
		require.Equal(t, want, plainByte[c], "byte %#x", c)
		line, err := json.Marshal(string([]byte{byte(c)}))
		require.NoError(t, err)
		if plainByte[c] {
			require.Equal(t, `"`+string([]byte{byte(c)})+`"`, string(line), "byte %#x is written unchanged", c)
		}
	}
}
