// The kernel table one instruction-set level provides. kernels.cc is compiled once per level (each
// with its own -m flags and its own table name), binding.cc picks one table per attach.
// Pointers address the shared arena; sizes are element counts. Layouts are those of
// src/math/kernels.ts (row-major): a [rows × inputs], w [outputs × inputs], b [outputs],
// z / dz / out / y [rows × outputs].
#ifndef GRADPOOL_NATIVE_KERNELS_H
#define GRADPOOL_NATIVE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

namespace gradpool {

struct KernelTable {
  const char* isa;
  /** z[r, o] = Σ_k a[r, k] · w[o, k] + b[o], for the output neurons o in [from, to) only */
  void (*denseForward)(float* z, const float* a, const float* w, const float* b, size_t rows, size_t inputs, size_t outputs, size_t from, size_t to);
  /** dw[o, ·] (+)= Σ_r dz[r, o] · a[r, ·];  db[o] (+)= Σ_r dz[r, o], for the output neurons o in [from, to) only */
  void (*denseBackwardParams)(float* dw, float* db, const float* dz, const float* a, size_t rows, size_t inputs, size_t outputs, bool accumulate,
                              size_t from, size_t to);
  /** da[rows×inputs] = dz[rows×outputs] · w */
  void (*denseBackwardInput)(float* da, const float* dz, const float* w, size_t rows, size_t inputs, size_t outputs);
  /**
   * out ← act(z), out may be z; kind: the registry code (src/math/ops.ts), parameter: leaky-relu's slope;
   * `count` elements in runs of `columns`, `stride` apart
   */
  void (*activationForward)(int kind, float* out, const float* z, size_t count, double parameter, size_t columns, size_t stride);
  /** grad ← grad ⊙ act′ from saved (a or z, as the registry's backwardFrom says), in runs as activationForward */
  void (*activationBackward)(int kind, float* grad, const float* saved, size_t count, double parameter, size_t columns, size_t stride);
  double (*outputLoss)(int kind, float* out, float* dz, const float* y, size_t rows, size_t outputs);
  void (*addInto)(float* into, const float* add, size_t count);
  /** into[r, ·] = data[order[r], ·] for r in [0, rows): rows of `width` floats (order checked by the caller) */
  void (*gatherRows)(float* into, const float* data, const int32_t* order, size_t rows, size_t width);
  /** One optimizer step; kind: the registry code, h: its 8 coefficients (OPTIMIZERS_BY_NAME in src/math/ops.ts) */
  void (*optimizerUpdate)(int kind, float* w, const float* g, float* first, float* second, size_t count, const double* h);
};

extern const KernelTable kernels_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const KernelTable kernels_avx2;
extern const KernelTable kernels_avx512;
#endif

}  // namespace gradpool

#endif
