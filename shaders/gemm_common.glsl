// What both GEMM kernels share: C = alpha * op(A) * op(B) + beta * C, row-major, with
// op(A) of M x K and op(B) of K x N. op(X) is X, or X transposed when TRANS_X is 1; the
// leading dimensions are those of the matrices as stored. With beta = 0, C is not read, so
// garbage (even NaN) in it does not leak into the result, as in BLAS.
layout(constant_id = 1) const uint TRANS_A = 0;
layout(constant_id = 2) const uint TRANS_B = 0;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) buffer C { float c[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc;
  float alpha, beta;
} p;

// op(A)[row, k] and op(B)[k, col]
float load_a(uint row, uint k) { return TRANS_A == 0u ? a[row * p.lda + k] : a[k * p.lda + row]; }
float load_b(uint k, uint col) { return TRANS_B == 0u ? b[k * p.ldb + col] : b[col * p.ldb + k]; }

void store_c(uint row, uint col, float acc) {
  uint i = row * p.ldc + col;
  c[i] = p.beta == 0.0 ? p.alpha * acc : fma(p.alpha, acc, p.beta * c[i]);
}
