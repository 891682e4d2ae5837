// Native versions of the kernels in src/math/kernels.ts. This one file is compiled once per
// instruction-set level (binding.gyp): with -mavx512f into kernels_avx512, with -mavx2 -mfma into
// kernels_avx2, and with the compiler's defaults into kernels_generic (SSE2 on x86-64, NEON on
// aarch64). GRADPOOL_TABLE names the table it defines.
//
// Rules, because several threads run these at once over one shared memory:
//   - no global mutable state and no allocation: every function works on its arguments only;
//   - writes only inside the output ranges given; reads never past the end of an input range
//     (partial vectors use masked loads, or go lane by lane);
//   - no alignment assumed beyond 4 bytes.
// Everything lives in an anonymous namespace and no C++ library header is included: an inline
// function with external linkage compiled here with AVX-512 could otherwise be picked by the linker
// for the generic build too, and fault on a CPU without AVX-512.
//
// Floating point: compiled with -ffp-contract=off, so plain expressions round exactly as the
// TypeScript reference does (activations' backward, the losses' f64 arithmetic and the optimizer
// updates match it bit for bit); the matrix products use fused multiply-adds explicitly (vfma).
// The products therefore differ from the reference and between levels in the last bits, but a level
// always gives the same bits for the same shapes, whichever thread runs it.

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#ifndef GRADPOOL_TABLE
#error "define GRADPOOL_TABLE (kernels_generic, kernels_avx2 or kernels_avx512)"
#endif
#define GRADPOOL_STRINGIFY2(x) #x
#define GRADPOOL_STRINGIFY(x) GRADPOOL_STRINGIFY2(x)

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__SSE2__)
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 headers start shuffles and casts from a deliberately undefined register and then
// warn about it wherever they are inlined (a known false positive)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// One vector type per level, and the handful of operations the kernels need.
// Register blocks (rows × vectors) are sized to the level's register file: 32 zmm, 16 ymm/xmm.

#if defined(__AVX512F__)
typedef __m512 vf;
constexpr size_t W = 16;
inline vf vzero() { return _mm512_setzero_ps(); }
inline vf vset1(float x) { return _mm512_set1_ps(x); }
inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
// n in [1, W): the first n lanes; masked lanes are neither read nor written (no fault past the end)
inline __mmask16 lanes(size_t n) { return (__mmask16)((1u << n) - 1); }
inline vf vload_part(const float* p, size_t n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
inline void vstore_part(float* p, vf v, size_t n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
inline float hsum(vf v) {
  __m512 t = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));  // + the other 256-bit half
  t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, 0xb1));          // + the neighbouring 128-bit lane
  __m128 s = _mm512_castps512_ps128(t);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
// forward: 4 rows × 6 outputs (24 accumulators); backward: 6 rows × 4 vectors (24 accumulators)
constexpr int FWD_ROWS = 4, FWD_COLS = 6, BWD_ROWS = 6, BWD_VECS = 4;
constexpr int fwd_edge_rows(int cols) { return cols == 1 ? 8 : cols == 2 ? 8 : cols == 3 ? 6 : cols == 4 ? 5 : 4; }
constexpr bool FORWARD_VIA_AVX2 = true;  // see dense_forward

#elif defined(__AVX2__)
typedef __m256 vf;
constexpr size_t W = 8;
inline vf vzero() { return _mm256_setzero_ps(); }
inline vf vset1(float x) { return _mm256_set1_ps(x); }
inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
// a sliding window over 8 ones then 8 zeros gives the mask of the first n lanes
alignas(64) const int32_t LANE_MASKS[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
inline __m256i lanes(size_t n) { return _mm256_loadu_si256((const __m256i*)(LANE_MASKS + 8 - n)); }
inline vf vload_part(const float* p, size_t n) { return _mm256_maskload_ps(p, lanes(n)); }
inline void vstore_part(float* p, vf v, size_t n) { _mm256_maskstore_ps(p, lanes(n), v); }
inline float hsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
// forward: 3 rows × 4 outputs (12 accumulators + 3 row vectors); backward: 4 rows × 3 vectors
constexpr int FWD_ROWS = 3, FWD_COLS = 4, BWD_ROWS = 4, BWD_VECS = 3;
constexpr int fwd_edge_rows(int cols) { return cols == 1 ? 6 : cols == 2 ? 4 : 3; }

#else  // the portable level: 4 lanes (SSE2 on x86-64, NEON on aarch64, scalar code elsewhere)
#if defined(__SSE2__)
typedef __m128 vf;
inline vf vzero() { return _mm_setzero_ps(); }
inline vf vset1(float x) { return _mm_set1_ps(x); }
inline vf vload(const float* p) { return _mm_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm_storeu_ps(p, v); }
inline vf vadd(vf a, vf b) { return _mm_add_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }  // SSE2 has no FMA
#elif defined(__ARM_NEON)
typedef float32x4_t vf;
inline vf vzero() { return vdupq_n_f32(0.0f); }
inline vf vset1(float x) { return vdupq_n_f32(x); }
inline vf vload(const float* p) { return vld1q_f32(p); }
inline void vstore(float* p, vf v) { vst1q_f32(p, v); }
inline vf vadd(vf a, vf b) { return vaddq_f32(a, b); }
#if defined(__aarch64__)
inline vf vfma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
#else
inline vf vfma(vf a, vf b, vf c) { return vaddq_f32(vmulq_f32(a, b), c); }
#endif
#else
typedef float vf __attribute__((vector_size(16)));
inline vf vzero() { return vf{0, 0, 0, 0}; }
inline vf vset1(float x) { return vf{x, x, x, x}; }
inline vf vload(const float* p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
inline void vstore(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
inline vf vadd(vf a, vf b) { return a + b; }
inline vf vfma(vf a, vf b, vf c) { return a * b + c; }
#endif
constexpr size_t W = 4;
inline vf vload_part(const float* p, size_t n) {
  float lanes[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) lanes[i] = p[i];
  return vload(lanes);
}
inline void vstore_part(float* p, vf v, size_t n) {
  float lanes[4];
  vstore(lanes, v);
  for (size_t i = 0; i < n; i++) p[i] = lanes[i];
}
inline float hsum(vf v) {
  float lanes[4];
  vstore(lanes, v);
  return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
}
constexpr int FWD_ROWS = 3, FWD_COLS = 4, BWD_ROWS = 4, BWD_VECS = 3;
constexpr int fwd_edge_rows(int cols) { return cols == 1 ? 6 : cols == 2 ? 4 : 3; }
#endif

/** Calls f(Count<n>{}) for a run-time n in [1, Max]: turns a remainder into a template argument. */
template <int N> struct Count { static constexpr int value = N; };
template <int Max, class F> inline void with_count(size_t n, F&& f) {
  if constexpr (Max >= 1) {
    if (n == (size_t)Max) {
      f(Count<Max>{});
      return;
    }
    with_count<Max - 1>(n, f);
  }
}

// ---------------------------------------------------------------------------------------------
// dense forward: z[r, o] = Σ_k a[r, k] · w[o, k] + b[o]   ("NT": both operands contiguous in k)
// Micro-kernel: ROWS rows of a × COLS rows of w as dot products, ROWS·COLS vector accumulators,
// summed horizontally once at the end. No packing: both operands are already contiguous along k,
// and each step loads ROWS + COLS vectors for ROWS·COLS fused multiply-adds.
// Loop order: chunks of rows whose slice of a fits in L2, then groups of COLS rows of w (which stay
// in L1 while the chunk's rows stream past), then blocks of ROWS rows.

template <int ROWS, int COLS>
inline void forward_block(float* z, size_t ldz, const float* a, size_t lda, const float* w, size_t ldw, const float* b, size_t K) {
  vf acc[ROWS][COLS];
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) acc[i][j] = vzero();
  size_t k = 0;
  for (; k + W <= K; k += W) {
    vf x[ROWS];
    for (int i = 0; i < ROWS; i++) x[i] = vload(a + i * lda + k);
    for (int j = 0; j < COLS; j++) {
      const vf y = vload(w + j * ldw + k);
      for (int i = 0; i < ROWS; i++) acc[i][j] = vfma(x[i], y, acc[i][j]);
    }
  }
  if (k < K) {  // zero-filled partial vectors: 0·0 adds nothing
    const size_t n = K - k;
    vf x[ROWS];
    for (int i = 0; i < ROWS; i++) x[i] = vload_part(a + i * lda + k, n);
    for (int j = 0; j < COLS; j++) {
      const vf y = vload_part(w + j * ldw + k, n);
      for (int i = 0; i < ROWS; i++) acc[i][j] = vfma(x[i], y, acc[i][j]);
    }
  }
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) z[i * ldz + j] = hsum(acc[i][j]) + b[j];
}

/** Outputs [o, o + COLS) for rows [r0, r1): blocks of ROWS rows, then the remaining rows. */
template <int ROWS, int COLS>
inline void forward_columns(float* z, const float* a, const float* w, const float* b, size_t r0, size_t r1, size_t inputs, size_t outputs, size_t o) {
  size_t r = r0;
  for (; r + ROWS <= r1; r += ROWS) forward_block<ROWS, COLS>(z + r * outputs + o, outputs, a + r * inputs, inputs, w + o * inputs, inputs, b + o, inputs);
  if (r < r1) {
    with_count<ROWS - 1>(r1 - r, [&](auto rows) {
      forward_block<decltype(rows)::value, COLS>(z + r * outputs + o, outputs, a + r * inputs, inputs, w + o * inputs, inputs, b + o, inputs);
    });
  }
}

// Only neurons [from, to): each element is its own dot product, computed alike in every block shape,
// so a split of the neurons anywhere gives the bits of one full call.
void dense_forward(float* z, const float* a, const float* w, const float* b, size_t rows, size_t inputs, size_t outputs, size_t from, size_t to) {
  if (rows == 0 || outputs == 0 || to <= from || to > outputs) return;
#if defined(__AVX512F__)
  // Measured on AMD Zen 4 (512-bit operations issue as two 256-bit halves): the AVX2 forward beats this
  // one on every shard shape (64×784×128: 109 vs 101 GFLOP/s; 64×64×10: 63 vs 38), as the horizontal
  // sums of 24 zmm accumulators cost more than they save. Retune on a CPU with full-width AVX-512 FMA.
  if (FORWARD_VIA_AVX2) {
    gradpool::kernels_avx2.denseForward(z, a, w, b, rows, inputs, outputs, from, to);
    return;
  }
#endif
  // rows per chunk: a's slice ≤ 256 KiB, so it stays in L2 while every group of w rows passes
  size_t chunk = inputs > 0 ? (size_t)65536 / inputs : rows;
  if (chunk < 8) chunk = 8;
  for (size_t r0 = 0; r0 < rows; r0 += chunk) {
    const size_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
    size_t o = from;
    for (; o + FWD_COLS <= to; o += FWD_COLS) forward_columns<FWD_ROWS, FWD_COLS>(z, a, w, b, r0, r1, inputs, outputs, o);
    if (o < to) {
      // few outputs left (often all of them: 10 classes, 1 unit): more rows per block keep enough
      // independent accumulators in flight
      with_count<FWD_COLS - 1>(to - o, [&](auto cols) {
        constexpr int C = decltype(cols)::value;
        forward_columns<fwd_edge_rows(C), C>(z, a, w, b, r0, r1, inputs, outputs, o);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Both backward products have one shape:  C[m, k] (+)= Σ_n S[n·sN + m·sM] · X[n·ldx + k]
// with X and C rows contiguous in k and S a matrix of scalars addressed by strides:
//   denseBackwardParams: C = dw (m = o), S = dz (n = r: sN = outputs, sM = 1), X = a, accumulate;
//   denseBackwardInput:  C = da (m = r), S = dz (n = o: sN = 1, sM = outputs), X = w, overwrite.
// The inner dimension n is small for dw (the shard's rows), so there is nothing to pack: per n the
// micro-kernel loads VECS vectors of a row of X, broadcasts ROWS scalars of S and does ROWS·VECS
// fused multiply-adds into accumulators that stay in registers for all n. Loop order: strips of
// VECS vectors of k outermost (the strip of X stays in L1 while every block of C rows is made).

struct Panel {
  float* c;
  size_t ldc;
  const float* s;
  size_t sN, sM;
  const float* x;
  size_t ldx;
  size_t n;
  bool accumulate;
};

/** ROWS rows of C from m × VECS vectors from k; with PART the last vector holds only `part` floats. */
template <int ROWS, int VECS, bool PART>
inline void axpy_block(const Panel& p, size_t m, size_t k, size_t part) {
  vf acc[ROWS][VECS];
  for (int i = 0; i < ROWS; i++)
    for (int v = 0; v < VECS; v++) acc[i][v] = vzero();
  const float* s = p.s + m * p.sM;
  const float* x = p.x + k;
  for (size_t n = 0; n < p.n; n++, s += p.sN, x += p.ldx) {
    vf xv[VECS];
    for (int v = 0; v < VECS; v++) xv[v] = PART && v == VECS - 1 ? vload_part(x + v * W, part) : vload(x + v * W);
    for (int i = 0; i < ROWS; i++) {
      const vf g = vset1(s[i * p.sM]);
      for (int v = 0; v < VECS; v++) acc[i][v] = vfma(g, xv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < ROWS; i++) {
    float* c = p.c + (m + i) * p.ldc + k;
    for (int v = 0; v < VECS; v++) {
      const bool partial = PART && v == VECS - 1;
      vf out = acc[i][v];
      if (p.accumulate) out = vadd(partial ? vload_part(c + v * W, part) : vload(c + v * W), out);
      if (partial) vstore_part(c + v * W, out, part);
      else vstore(c + v * W, out);
    }
  }
}

template <int VECS, bool PART>
inline void axpy_strip(const Panel& p, size_t rows, size_t k, size_t part) {
  size_t m = 0;
  for (; m + BWD_ROWS <= rows; m += BWD_ROWS) axpy_block<BWD_ROWS, VECS, PART>(p, m, k, part);
  if (m < rows) with_count<BWD_ROWS - 1>(rows - m, [&](auto r) { axpy_block<decltype(r)::value, VECS, PART>(p, m, k, part); });
}

void axpy_panel(const Panel& p, size_t rows, size_t K) {
  constexpr size_t STRIP = BWD_VECS * W;
  size_t k = 0;
  for (; k + STRIP <= K; k += STRIP) axpy_strip<BWD_VECS, false>(p, rows, k, 0);
  if (K - k >= W) {  // whole vectors left: one narrower strip
    const size_t vecs = (K - k) / W;
    with_count<BWD_VECS - 1>(vecs, [&](auto v) { axpy_strip<decltype(v)::value, false>(p, rows, k, 0); });
    k += vecs * W;
  }
  if (k < K) axpy_strip<1, true>(p, rows, k, K - k);
}

// Only neurons [from, to): each dw/db element is summed over the rows in the same order whatever the
// range, so a team may split the neurons anywhere and still get the bits of one full call.
void dense_backward_params(float* dw, float* db, const float* dz, const float* a, size_t rows, size_t inputs, size_t outputs, bool accumulate,
                           size_t from, size_t to) {
  if (to <= from || to > outputs) return;
  if (rows == 0) {
    if (!accumulate) {  // the sums of zero rows
      for (size_t i = from * inputs; i < to * inputs; i++) dw[i] = 0.0f;
      for (size_t o = from; o < to; o++) db[o] = 0.0f;
    }
    return;
  }
  // db[o] (+)= Σ_r dz[r, o], added in row order like the reference (so bit for bit the same)
  size_t o = from;
  for (; o + W <= to; o += W) {
    vf acc = accumulate ? vload(db + o) : vzero();
    for (size_t r = 0; r < rows; r++) acc = vadd(acc, vload(dz + r * outputs + o));
    vstore(db + o, acc);
  }
  for (; o < to; o++) {
    float acc = accumulate ? db[o] : 0.0f;
    for (size_t r = 0; r < rows; r++) acc += dz[r * outputs + o];
    db[o] = acc;
  }
  if (inputs == 0) return;
  axpy_panel(Panel{dw + from * inputs, inputs, dz + from, outputs, 1, a, inputs, rows, accumulate}, to - from, inputs);
}

void dense_backward_input(float* da, const float* dz, const float* w, size_t rows, size_t inputs, size_t outputs) {
  if (rows == 0 || inputs == 0) return;
  // no outputs: n = 0, and the panel writes zeros
  axpy_panel(Panel{da, inputs, dz, 1, outputs, w, inputs, outputs, false}, rows, inputs);
}

// ---------------------------------------------------------------------------------------------
// hidden activations, switched on the registry's codes (src/math/ops.ts; test/op-registry.test.ts
// checks each `case N:  // name` below against it), in the reference's f64 arithmetic

inline double sigmoid(double x) {
  // branching keeps exp's argument ≤ 0, so it never overflows
  if (x >= 0) return 1 / (1 + exp(-x));
  const double e = exp(x);
  return e / (1 + e);
}

constexpr double GELU_SCALE = 0.7978845608028654;  // √(2/π), as Math.sqrt(2 / Math.PI)
constexpr double GELU_CUBIC = 0.044715;

// out may be z (in place): no restrict
void activation_forward_run(int kind, float* out, const float* z, size_t count, double parameter) {
  switch (kind) {
    case 0:  // relu
      for (size_t i = 0; i < count; i++) out[i] = z[i] > 0.0f ? z[i] : 0.0f;  // NaN, −0 → +0
      return;
    case 1:  // sigmoid
      for (size_t i = 0; i < count; i++) out[i] = (float)sigmoid(z[i]);
      return;
    case 2:  // tanh
      for (size_t i = 0; i < count; i++) out[i] = (float)tanh((double)z[i]);
      return;
    case 3:  // leaky-relu
      for (size_t i = 0; i < count; i++) out[i] = z[i] > 0.0f ? z[i] : (float)((double)z[i] * parameter);
      return;
    case 4:  // gelu
      for (size_t i = 0; i < count; i++) {
        const double x = z[i];
        out[i] = (float)(0.5 * x * (1 + tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x))));
      }
      return;
    case 5:  // silu
      for (size_t i = 0; i < count; i++) {
        const double x = z[i];
        out[i] = (float)(x * sigmoid(x));
      }
      return;
  }
}

void activation_backward_run(int kind, float* grad, const float* saved, size_t count, double parameter) {
  switch (kind) {
    case 0:  // relu: 1 where a > 0
      for (size_t i = 0; i < count; i++) grad[i] = saved[i] > 0.0f ? grad[i] : 0.0f;
      return;
    case 1:  // sigmoid: a(1 − a)
      for (size_t i = 0; i < count; i++) {
        const double ai = saved[i];
        grad[i] = (float)((double)grad[i] * ai * (1 - ai));
      }
      return;
    case 2:  // tanh: 1 − a²
      for (size_t i = 0; i < count; i++) {
        const double ai = saved[i];
        grad[i] = (float)((double)grad[i] * (1 - ai * ai));
      }
      return;
    case 3:  // leaky-relu: 1 where a > 0, else the slope
      for (size_t i = 0; i < count; i++) grad[i] = saved[i] > 0.0f ? grad[i] : (float)((double)grad[i] * parameter);
      return;
    case 4:  // gelu, from z
      for (size_t i = 0; i < count; i++) {
        const double x = saved[i];
        const double t = tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
        grad[i] = (float)((double)grad[i] * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_SCALE * (1 + 3 * GELU_CUBIC * x * x)));
      }
      return;
    case 5:  // silu, from z: σ(z)·(1 + z·(1 − σ(z)))
      for (size_t i = 0; i < count; i++) {
        const double x = saved[i];
        const double s = sigmoid(x);
        grad[i] = (float)((double)grad[i] * (s * (1 + x * (1 - s))));
      }
      return;
  }
}

// `count` elements in runs of `columns`, `stride` apart (a block of a row-major matrix's columns)
void activation_forward(int kind, float* out, const float* z, size_t count, double parameter, size_t columns, size_t stride) {
  if (columns == 0) return;
  for (size_t done = 0, at = 0; done < count; done += columns, at += stride) activation_forward_run(kind, out + at, z + at, columns, parameter);
}

void activation_backward(int kind, float* grad, const float* saved, size_t count, double parameter, size_t columns, size_t stride) {
  if (columns == 0) return;
  for (size_t done = 0, at = 0; done < count; done += columns, at += stride) activation_backward_run(kind, grad + at, saved + at, columns, parameter);
}

// ---------------------------------------------------------------------------------------------
// output layer + loss (kind: the registry code), f64 exactly as the reference:
// out ← output activation in place, dz = out − y, returns Σ loss.

// One function per loss, each with its own running total: in a function that also calls exp and log,
// GCC keeps the total in memory, and the store-to-load round trip made the mse loop 4× slower
// (noinline keeps them apart).

__attribute__((noinline)) double bce_loss(float* out, float* dz, const float* y, size_t count) {
  double total = 0;
  for (size_t i = 0; i < count; i++) {
    const double z = out[i], t = y[i];
    // −[t log σ(z) + (1−t) log(1−σ(z))] = max(z,0) − z·t + log(1 + e^−|z|)
    total += (z > 0 ? z : 0.0) - z * t + log1p(exp(-fabs(z)));
    const double p = sigmoid(z);
    out[i] = (float)p;
    dz[i] = (float)(p - t);
  }
  return total;
}

__attribute__((noinline)) double cross_entropy_loss(float* out, float* dz, const float* y, size_t rows, size_t outputs) {
  double total = 0;
  for (size_t r = 0; r < rows; r++) {
    float* zr = out + r * outputs;
    const float* yr = y + r * outputs;
    float* dzr = dz + r * outputs;
    // log Σ exp(z), shifted by the row's maximum so that exp cannot overflow (NaN propagates, as in Math.max)
    double max = -INFINITY;
    for (size_t o = 0; o < outputs; o++) max = (double)zr[o] > max || zr[o] != zr[o] ? (double)zr[o] : max;
    double sum_exp = 0;
    for (size_t o = 0; o < outputs; o++) sum_exp += exp((double)zr[o] - max);
    const double log_sum_exp = max + log(sum_exp);
    for (size_t o = 0; o < outputs; o++) {
      const double z = zr[o], t = yr[o];
      if (t != 0) total += t * (log_sum_exp - z);
      const double p = exp(z - log_sum_exp);
      zr[o] = (float)p;
      dzr[o] = (float)(p - t);
    }
  }
  return total;
}

__attribute__((noinline)) double mse_loss(const float* out, float* dz, const float* y, size_t count) {
  double total = 0;
  for (size_t i = 0; i < count; i++) {
    const double diff = (double)out[i] - (double)y[i];
    total += 0.5 * diff * diff;
    dz[i] = (float)diff;
  }
  return total;
}

double output_loss(int kind, float* out, float* dz, const float* y, size_t rows, size_t outputs) {
  switch (kind) {
    case 0:  // bce
      return bce_loss(out, dz, y, rows * outputs);
    case 1:  // cross-entropy
      return cross_entropy_loss(out, dz, y, rows, outputs);
    case 2:  // mse
      return mse_loss(out, dz, y, rows * outputs);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// the slab reduction and the optimizer updates: elementwise, memory-bound, and bit for bit the
// reference's arithmetic (float32 for addInto and SGD, f64 for momentum and Adam)

void add_into(float* __restrict into, const float* __restrict add, size_t count) {
  for (size_t i = 0; i < count; i++) into[i] = into[i] + add[i];
}

void sgd_update(float* __restrict w, const float* __restrict g, size_t count, double lrMean, double lrDecay) {
  const float mean = (float)lrMean;
  const float keep = (float)(1 - lrDecay);
  for (size_t i = 0; i < count; i++) w[i] = w[i] * keep - g[i] * mean;
}

void momentum_update(float* __restrict w, const float* __restrict g, float* __restrict velocity, size_t count, const double* h) {
  const double lr = h[0], invBatch = h[1], decay = h[2], momentum = h[3];
  for (size_t i = 0; i < count; i++) {
    const double wi = w[i];
    const double v = momentum * velocity[i] + g[i] * invBatch + decay * wi;
    velocity[i] = (float)v;
    w[i] = (float)(wi - lr * v);
  }
}

/** adam (decoupled = false: λ·w joins the gradient) and adamw (decoupled: w·(1 − lr·λ) first) */
void adam_update(float* __restrict w, const float* __restrict g, float* __restrict first, float* __restrict second, size_t count, const double* h,
                 bool decoupled) {
  const double lr = h[0], invBatch = h[1], decay = h[2], beta1 = h[3], beta2 = h[4], epsilon = h[5], correction1 = h[6], correction2 = h[7];
  const double coupled = decoupled ? 0 : decay;
  const double keep = decoupled ? 1 - lr * decay : 1;
  for (size_t i = 0; i < count; i++) {
    const double wi = w[i];
    const double gi = g[i] * invBatch + coupled * wi;
    const double m = beta1 * first[i] + (1 - beta1) * gi;
    const double s = beta2 * second[i] + (1 - beta2) * gi * gi;
    first[i] = (float)m;
    second[i] = (float)s;
    w[i] = (float)(wi * keep - (lr * (m / correction1)) / (sqrt(s / correction2) + epsilon));
  }
}

void rmsprop_update(float* __restrict w, const float* __restrict g, float* __restrict square, size_t count, const double* h) {
  const double lr = h[0], invBatch = h[1], decay = h[2], alpha = h[3], epsilon = h[4];
  for (size_t i = 0; i < count; i++) {
    const double wi = w[i];
    const double gi = g[i] * invBatch + decay * wi;
    const double s = alpha * square[i] + (1 - alpha) * gi * gi;
    square[i] = (float)s;
    w[i] = (float)(wi - (lr * gi) / (sqrt(s) + epsilon));
  }
}

// ---------------------------------------------------------------------------------------------
// the gather: a batch's rows, in the epoch's order, copied into a scratch area

/** Rows ahead whose lines are prefetched: a large data set's rows sit in memory at random, and overlapping their misses makes the copy several times faster (measured 14 → 9 µs for 64 rows of 784 floats). */
constexpr size_t GATHER_AHEAD = 4;

void gather_rows(float* __restrict into, const float* __restrict data, const int32_t* __restrict order, size_t rows, size_t width) {
  const size_t bytes = width * sizeof(float);
  for (size_t r = 0; r < rows; r++) {
#if defined(__GNUC__) || defined(__clang__)
    if (r + GATHER_AHEAD < rows) {
      const char* ahead = reinterpret_cast<const char*>(data + (size_t)order[r + GATHER_AHEAD] * width);
      for (size_t line = 0; line < bytes; line += 64) __builtin_prefetch(ahead + line);
    }
#endif
    memcpy(into + r * width, data + (size_t)order[r] * width, bytes);
  }
}

// switched on the registry's codes; a state buffer the rule does not keep may alias w and is not touched
void optimizer_update(int kind, float* w, const float* g, float* first, float* second, size_t count, const double* h) {
  switch (kind) {
    case 0:  // sgd
      return sgd_update(w, g, count, h[0], h[1]);
    case 1:  // momentum
      return momentum_update(w, g, first, count, h);
    case 2:  // adam
      return adam_update(w, g, first, second, count, h, false);
    case 3:  // adamw
      return adam_update(w, g, first, second, count, h, true);
    case 4:  // rmsprop
      return rmsprop_update(w, g, first, count, h);
  }
}

}  // namespace

namespace gradpool {

extern const KernelTable GRADPOOL_TABLE;
const KernelTable GRADPOOL_TABLE = {
    GRADPOOL_STRINGIFY(GRADPOOL_TABLE),
    dense_forward,
    dense_backward_params,
    dense_backward_input,
    activation_forward,
    activation_backward,
    output_loss,
    add_into,
    gather_rows,
    optimizer_update,
};

}  // namespace gradpool
