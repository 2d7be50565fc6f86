//go:build !amd64

package index

func axpy4(dst []float32, w *[4]float32, c *[4][]float32) {
	axpy4Go(dst, w, c[0], c[1], c[2], c[3])
}

func axpy1(dst []float32, w float32, c []float32) { axpy1Go(dst, w, c) }

// quantised: no int8 prefilter without the AVX2 kernel (a scalar one
// would be slower than the exact float32 pass).
func quantised() bool { return false }

func axpy4I8(dst []float32, w *[4]float32, c *[4][]int8) {
	for i := range dst {
		dst[i] += w[0]*float32(c[0][i]) + w[1]*float32(c[1][i]) + w[2]*float32(c[2][i]) + w[3]*float32(c[3][i])
	}
}
