package jsonread

import (
	"math/rand/v2"
	"testing"
)

// plainRunBytewise is plainRun's definition, one byte at a time.
func plainRunBytewise(b []byte, j int) int {
	for j < len(b) && plain[b[j]] {
		j++
	}
	return j
}

// TestPlainRunWordAtATime (ADR 0107): the eight-byte step finds the same
// first byte that is not plain as the byte-by-byte definition, for every
// byte value at every offset of a word and with more than one such byte
// in a word (a borrow from a lower lane must not hide or move it), from
// every start and for buffers shorter than a word.
func TestPlainRunWordAtATime(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for v := range 256 {
				b := make([]byte, n)
				for i := range b {
					b[i] = 'a' + byte(i%26)
				}
				b[pos] = byte(v) //nolint:gosec // G115: v < 256
				for j := 0; j <= n; j++ {
					if got, want := plainRun(b, j), plainRunBytewise(b, j); got != want {
						t.Fatalf("plainRun(%q, %d) = %d, want %d", b, j, got, want)
					}
				}
			}
		}
	}
	// Two or three bytes that are not plain in one word, the lanes'
	// borrows in every combination, and random text.
	special := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0x81, 0xc3, 0xff}
	var printable []byte
	for c := byte(0x20); c < 0x80; c++ {
		printable = append(printable, c)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, 1+r.IntN(20))
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = special[r.IntN(len(special))]
			} else {
				b[i] = printable[r.IntN(len(printable))]
			}
		}
		j := r.IntN(len(b) + 1)
		if got, want := plainRun(b, j), plainRunBytewise(b, j); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, j, got, want)
		}
	}
}
