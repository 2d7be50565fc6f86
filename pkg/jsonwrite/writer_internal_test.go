package jsonwrite

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// safeWord is appendString's test of eight bytes.
func (r *rules) safeWord(x uint64) bool { return unsafeByte(x) == 0 && (!r.html || htmlByte(x) == 0) }

// tableSafe is safeWord's definition: every byte of x safe by r's table.
func tableSafe(r *rules, x uint64) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	for _, c := range b {
		if !r.safe[c] {
			return false
		}
	}
	return true
}

// TestSafeWordIsTheTable: the eight-byte test of appendString (unsafeByte,
// htmlByte) agrees with the byte table of every
// variant for every byte value at every position of a safe word, for
// every pair of byte values at two positions (a borrow from one byte may
// not hide another), and for a million random words.
func TestSafeWordIsTheTable(t *testing.T) {
	variants := map[string]*rules{"marshal": &marshalRules, "slog": &slogRules, "proto": &protoRules}
	const filler = ones * 'a'
	put := func(x uint64, p int, c byte) uint64 {
		return x&^(0xff<<(8*p)) | uint64(c)<<(8*p)
	}
	for name, r := range variants {
		require := func(x uint64) {
			t.Helper()
			if got, want := r.safeWord(x), tableSafe(r, x); got != want {
				t.Fatalf("%s: safeWord(%#016x) = %v, the table says %v", name, x, got, want)
			}
		}
		for c := range 256 {
			for p := range 8 {
				require(put(filler, p, byte(c)))
				for c2 := range 256 {
					require(put(put(filler, p, byte(c)), (p+1)%8, byte(c2)))
					require(put(put(filler, p, byte(c)), 7-p, byte(c2)))
				}
			}
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		for range 1_000_000 {
			x := rnd.Uint64()
			require(x)
			require(x &^ high) // ASCII only: the interesting case
		}
	}
}
