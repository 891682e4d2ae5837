// The kernel table one instruction-set level provides. kernels.cc is compiled once per level (each
// with its own -m flags and its own table name), binding.cc picks one table per attach.
// Pointers address the shared arena; sizes are element counts. Layouts are those of
// src/math/kernels.ts (row-major): a [rows × inputs], w [outputs × inputs], b [outputs],
// z / dz / out / y [rows × outputs].
#ifndef GRADPOOL_NATIVE_KERNELS_H
#define GRADPOOL_NATIVE_KERNELS_H

#include <stddef.h>

namespace gradpool {

struct KernelTable {
  const char* isa;
  /** z[rows×outputs] = a[rows×inputs] · wᵀ + b */
  void (*denseForward)(float* z, const float* a, const float* w, const float* b, size_t rows, size_t inputs, size_t outputs);
  /** dw[outputs×inputs] (+)= dzᵀ · a;  db[outputs] (+)= Σ_rows dz */
  void (*denseBackwardParams)(float* dw, float* db, const float* dz, const float* a, size_t rows, size_t inputs, size_t outputs, bool accumulate);
  /** da[rows×inputs] = dz[rows×outputs] · w */
  void (*denseBackwardInput)(float* da, const float* dz, const float* w, size_t rows, size_t inputs, size_t outputs);
  void (*activationForward)(int kind, float* values, size_t count);
  void (*activationBackward)(int kind, float* grad, const float* a, size_t count);
  double (*outputLoss)(int kind, float* out, float* dz, const float* y, size_t rows, size_t outputs);
  void (*addInto)(float* into, const float* add, size_t count);
  void (*sgdUpdate)(float* w, const float* g, size_t count, double lrMean, double lrDecay);
  void (*momentumUpdate)(float* w, const float* g, float* velocity, size_t count, double lr, double invBatch, double decay, double momentum);
  void (*adamUpdate)(float* w, const float* g, float* first, float* second, size_t count, double lr, double invBatch, double decay,
                     double beta1, double beta2, double epsilon, double correction1, double correction2);
};

extern const KernelTable kernels_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const KernelTable kernels_avx2;
extern const KernelTable kernels_avx512;
#endif

}  // namespace gradpool

#endif
