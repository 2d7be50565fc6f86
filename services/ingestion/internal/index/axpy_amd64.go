package index

import "golang.org/x/sys/cpu"

// useAVX2: the exact search's column sums run 8 rows wide on CPUs with
// AVX2 (the ANN's dot product needs the same, ADR 0028).
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func axpy4AVX(dst, c0, c1, c2, c3 *float32, w *[4]float32, n int)

//go:noescape
func axpy1AVX(dst, c *float32, w float32, n int)

//go:noescape
func axpy4I8AVX(dst *float32, c0, c1, c2, c3 *int8, w *[4]float32, n int)

// quantised reports whether the int8 prefilter of Matrix.TopK can run.
func quantised() bool { return useAVX2 }

// axpy4I8 adds w0*c0[i] + w1*c1[i] + w2*c2[i] + w3*c3[i] to dst[i] (all
// of dst's length), the columns int8.
func axpy4I8(dst []float32, w *[4]float32, c *[4][]int8) {
	n := 0
	if len(dst) >= 8 {
		n = len(dst) &^ 7
		_, _, _, _ = c[0][n-1], c[1][n-1], c[2][n-1], c[3][n-1]
		axpy4I8AVX(&dst[0], &c[0][0], &c[1][0], &c[2][0], &c[3][0], w, n)
	}
	for i := n; i < len(dst); i++ {
		dst[i] += w[0]*float32(c[0][i]) + w[1]*float32(c[1][i]) + w[2]*float32(c[2][i]) + w[3]*float32(c[3][i])
	}
}

// axpy4 adds ((w0*c0[i] + w1*c1[i]) + w2*c2[i]) + w3*c3[i] to dst[i]
// (all of dst's length).
func axpy4(dst []float32, w *[4]float32, c *[4][]float32) {
	n := 0
	if useAVX2 && len(dst) >= 8 {
		n = len(dst) &^ 7
		_, _, _, _ = c[0][n-1], c[1][n-1], c[2][n-1], c[3][n-1]
		axpy4AVX(&dst[0], &c[0][0], &c[1][0], &c[2][0], &c[3][0], w, n)
	}
	axpy4Go(dst[n:], w, c[0][n:], c[1][n:], c[2][n:], c[3][n:])
}

// axpy1 adds w*c[i] to dst[i] (all of dst's length).
func axpy1(dst []float32, w float32, c []float32) {
	n := 0
	if useAVX2 && len(dst) >= 8 {
		n = len(dst) &^ 7
		_ = c[n-1]
		axpy1AVX(&dst[0], &c[0], w, n)
	}
	axpy1Go(dst[n:], w, c[n:])
}
