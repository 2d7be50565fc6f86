package ann

import "golang.org/x/sys/cpu"

// useAVX2: the dot product runs 8 lanes wide with fused multiply-adds
// (dot_amd64.s) on CPUs that have them; about 6× the unrolled Go loop at
// 384 dimensions, and distances are nearly all of the build's time.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dot is the similarity of two unit vectors of equal length.
func dot(a, b []float32) float32 {
	if !useAVX2 || len(a) < 8 {
		return dotGo(a, b)
	}
	b = b[:len(a)]
	n := len(a) &^ 7
	s := dotAVX2(&a[0], &b[0], n)
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}
