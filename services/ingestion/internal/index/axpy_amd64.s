#include "textflag.h"

// The exact vector search's column kernels (Matrix.TopK): 8 rows at a
// time with separate multiplies and adds (no FMA), in the order of the Go
// loops they replace, so every score is bit for bit the same.

// func axpy4AVX(dst, c0, c1, c2, c3 *float32, w *[4]float32, n int)
// dst[i] += ((w0*c0[i] + w1*c1[i]) + w2*c2[i]) + w3*c3[i] for i < n;
// n must be a multiple of 8.
TEXT ·axpy4AVX(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ c0+8(FP), R8
	MOVQ c1+16(FP), R9
	MOVQ c2+24(FP), R10
	MOVQ c3+32(FP), R11
	MOVQ w+40(FP), AX
	MOVQ n+48(FP), CX
	VBROADCASTSS 0(AX), Y0
	VBROADCASTSS 4(AX), Y1
	VBROADCASTSS 8(AX), Y2
	VBROADCASTSS 12(AX), Y3
	XORQ BX, BX

loop4:
	CMPQ CX, $8
	JL   done4
	VMULPS (R8)(BX*1), Y0, Y4
	VMULPS (R9)(BX*1), Y1, Y5
	VADDPS Y5, Y4, Y4
	VMULPS (R10)(BX*1), Y2, Y5
	VADDPS Y5, Y4, Y4
	VMULPS (R11)(BX*1), Y3, Y5
	VADDPS Y5, Y4, Y4
	VADDPS (DI)(BX*1), Y4, Y4
	VMOVUPS Y4, (DI)(BX*1)
	ADDQ $32, BX
	SUBQ $8, CX
	JMP  loop4

done4:
	VZEROUPPER
	RET

// func axpy1AVX(dst, c *float32, w float32, n int)
// dst[i] += w*c[i] for i < n; n must be a multiple of 8.
TEXT ·axpy1AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ c+8(FP), R8
	VBROADCASTSS w+16(FP), Y0
	MOVQ n+24(FP), CX
	XORQ BX, BX

loop1:
	CMPQ CX, $8
	JL   done1
	VMULPS (R8)(BX*1), Y0, Y4
	VADDPS (DI)(BX*1), Y4, Y4
	VMOVUPS Y4, (DI)(BX*1)
	ADDQ $32, BX
	SUBQ $8, CX
	JMP  loop1

done1:
	VZEROUPPER
	RET

// func axpy4I8AVX(dst *float32, c0, c1, c2, c3 *int8, w *[4]float32, n int)
// dst[i] += w0*c0[i] + w1*c1[i] + w2*c2[i] + w3*c3[i] for i < n, the
// columns int8: the quantised prefilter of Matrix.TopK (its rounding is
// within the bound the prefilter allows for). n must be a multiple of 8.
TEXT ·axpy4I8AVX(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ c0+8(FP), R8
	MOVQ c1+16(FP), R9
	MOVQ c2+24(FP), R10
	MOVQ c3+32(FP), R11
	MOVQ w+40(FP), AX
	MOVQ n+48(FP), CX
	VBROADCASTSS 0(AX), Y0
	VBROADCASTSS 4(AX), Y1
	VBROADCASTSS 8(AX), Y2
	VBROADCASTSS 12(AX), Y3
	XORQ BX, BX

loopq:
	CMPQ CX, $8
	JL   doneq
	VPMOVSXBD (R8)(BX*1), Y4
	VCVTDQ2PS Y4, Y4
	VMULPS    Y0, Y4, Y4
	VPMOVSXBD (R9)(BX*1), Y5
	VCVTDQ2PS Y5, Y5
	VMULPS    Y1, Y5, Y5
	VADDPS    Y5, Y4, Y4
	VPMOVSXBD (R10)(BX*1), Y5
	VCVTDQ2PS Y5, Y5
	VMULPS    Y2, Y5, Y5
	VADDPS    Y5, Y4, Y4
	VPMOVSXBD (R11)(BX*1), Y5
	VCVTDQ2PS Y5, Y5
	VMULPS    Y3, Y5, Y5
	VADDPS    Y5, Y4, Y4
	VADDPS    (DI)(BX*4), Y4, Y4
	VMOVUPS   Y4, (DI)(BX*4)
	ADDQ $8, BX
	SUBQ $8, CX
	JMP  loopq

doneq:
	VZEROUPPER
	RET
