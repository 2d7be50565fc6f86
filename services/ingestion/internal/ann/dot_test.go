package ann

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotMatchesPortable: the assembly dot product (where the CPU has it)
// agrees with the portable loop on every length, including the tails.
func TestDotMatchesPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 100 {
		a, b := make([]float32, n), make([]float32, n+3)
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		want := dotGo(a, b)
		require.InDelta(t, want, dot(a, b), 1e-4*float64(n+1), "n=%d", n)
	}
	a := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41}
	var want float32
	for _, x := range a {
		want += x * x
	}
	require.InDelta(t, want, dot(a, a), 1e-3)
}

func BenchmarkDot384(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float32, 384), make([]float32, 384)
	for i := range x {
		x[i], y[i] = r.Float32(), r.Float32()
	}
	b.Run("dot", func(b *testing.B) {
		for range b.N {
			_ = dot(x, y)
		}
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			_ = dotGo(x, y)
		}
	})
}
