package apikey

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := Generate()
		require.NoError(t, err)
		s := k.Plaintext()
		require.Len(t, s, Len)
		require.True(t, strings.HasPrefix(s, Prefix))
		require.False(t, seen[s], "duplicate key")
		seen[s] = true

		got, err := Parse(s)
		require.NoError(t, err)
		require.Equal(t, k.ID, got.ID)
		require.Equal(t, s, got.Plaintext())
	}
}

func TestParse(t *testing.T) {
	good, err := Generate()
	require.NoError(t, err)
	s := good.Plaintext()
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"valid", s, nil},
		{"empty", "", ErrMalformed},
		{"bad prefix", "sk_" + s[3:], ErrMalformed},
		{"too short", s[:Len-1], ErrMalformed},
		{"too long", s + "a", ErrMalformed},
		{"non base62", s[:20] + "-" + s[21:], ErrMalformed},
		{"unicode", s[:Len-2] + "é", ErrMalformed},
		{"typo in secret", flip(30), ErrChecksum},
		{"typo in id", flip(5), ErrChecksum},
		{"typo in checksum", flip(Len - 1), ErrChecksum},
		{"bearer prefix left on", "Bearer " + s, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestHashAndMatch(t *testing.T) {
	k, err := Generate()
	require.NoError(t, err)
	other, err := Generate()
	require.NoError(t, err)
	salt, err := NewSalt()
	require.NoError(t, err)
	h := k.Hash(salt)
	require.True(t, k.Matches(salt, h))
	require.False(t, other.Matches(salt, h))
	salt2, err := NewSalt()
	require.NoError(t, err)
	require.NotEqual(t, h, k.Hash(salt2), "salt must change the hash")
}

func TestStringRedacts(t *testing.T) {
	k, err := Generate()
	require.NoError(t, err)
	secretPart := k.Plaintext()[len(Prefix)+IDLen : len(Prefix)+IDLen+SecretLen]
	require.NotContains(t, k.String(), secretPart)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", k, k, k, k), secretPart)
}

func TestValidID(t *testing.T) {
	require.True(t, ValidID("AbCdEf012345"))
	require.False(t, ValidID("AbCdEf01234"))
	require.False(t, ValidID("AbCdEf01234_"))
}

func FuzzParse(f *testing.F) {
	k, err := Generate()
	require.NoError(f, err)
	f.Add(k.Plaintext())
	f.Add("rk_")
	f.Add("")
	f.Add(strings.Repeat("a", Len))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		// Anything accepted must round-trip exactly and have the right shape.
		require.Equal(t, s, got.Plaintext())
		require.True(t, ValidID(got.ID))
	})
}

func BenchmarkParse(b *testing.B) {
	k, err := Generate()
	require.NoError(b, err)
	s := k.Plaintext()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashMatch(b *testing.B) {
	k, err := Generate()
	require.NoError(b, err)
	salt, _ := NewSalt()
	h := k.Hash(salt)
	b.ReportAllocs()
	for b.Loop() {
		if !k.Matches(salt, h) {
			b.Fatal("mismatch")
		}
	}
}
