// Node-API binding of the native kernels (src/math/native-kernels.ts is its only caller).
//
// attach(view, isa) takes a Uint8Array over the shared arena's buffer once and returns an object of
// kernel functions bound to that arena and to one instruction-set level; each function takes byte
// offsets into the arena and sizes, so a call converts a few numbers and copies nothing. A shared
// WebAssembly.Memory never moves (growing it keeps its base address), so the base pointer taken at
// attach stays valid. The JavaScript wrapper checks every view against the memory before a call.
//
// Context-aware (NAPI_MODULE_INIT): every worker thread loads its own instance; the only
// process-wide state is the CPU's feature set, read once.

#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

namespace {

using gradpool::KernelTable;

struct Level {
  const char* name;
  const KernelTable* table;
  bool (*supported)();
};

#if defined(__x86_64__) || defined(_M_X64)
bool has_avx512() {
  __builtin_cpu_init();  // libgcc/compiler-rt also check that the OS saves the wider registers
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
bool always() { return true; }

/** Best first. */
const Level LEVELS[] = {
#if defined(__x86_64__) || defined(_M_X64)
    {"avx512", &gradpool::kernels_avx512, has_avx512},
    {"avx2", &gradpool::kernels_avx2, has_avx2},
#endif
    {"generic", &gradpool::kernels_generic, always},
};
constexpr size_t LEVEL_COUNT = sizeof LEVELS / sizeof LEVELS[0];

struct Arena {
  uint8_t* base;
  const KernelTable* kernels;
};

// ---- argument helpers: a failed conversion leaves a pending exception and returns false ----

template <size_t N>
bool arguments(napi_env env, napi_callback_info info, napi_value (&argv)[N], Arena** arena) {
  size_t argc = N;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return false;
  if (argc < N) {
    napi_throw_type_error(env, nullptr, "native kernels: too few arguments");
    return false;
  }
  *arena = static_cast<Arena*>(data);
  return true;
}

bool to_size(napi_env env, napi_value value, size_t* out) {
  int64_t n = 0;
  if (napi_get_value_int64(env, value, &n) != napi_ok || n < 0) {
    napi_throw_range_error(env, nullptr, "native kernels: sizes and offsets must be non-negative integers");
    return false;
  }
  *out = (size_t)n;
  return true;
}

bool to_int(napi_env env, napi_value value, int* out) { return napi_get_value_int32(env, value, out) == napi_ok; }
bool to_double(napi_env env, napi_value value, double* out) { return napi_get_value_double(env, value, out) == napi_ok; }

/** A float pointer from a byte offset. */
bool to_floats(napi_env env, napi_value value, const Arena* arena, float** out) {
  size_t offset = 0;
  if (!to_size(env, value, &offset)) return false;
  *out = reinterpret_cast<float*>(arena->base + offset);
  return true;
}

// ---- the kernels: (offsets…, sizes…) as in src/math/native-kernels.ts ----

napi_value DenseForward(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  Arena* arena;
  float *z, *a, *w, *b;
  size_t rows, inputs, outputs, from, to;
  if (!arguments(env, info, argv, &arena) || !to_floats(env, argv[0], arena, &z) || !to_floats(env, argv[1], arena, &a) ||
      !to_floats(env, argv[2], arena, &w) || !to_floats(env, argv[3], arena, &b) || !to_size(env, argv[4], &rows) ||
      !to_size(env, argv[5], &inputs) || !to_size(env, argv[6], &outputs) || !to_size(env, argv[7], &from) || !to_size(env, argv[8], &to))
    return nullptr;
  if (from > to || to > outputs) {
    napi_throw_range_error(env, nullptr, "native kernels: the neuron range [from, to) must lie in [0, outputs)");
    return nullptr;
  }
  arena->kernels->denseForward(z, a, w, b, rows, inputs, outputs, from, to);
  return nullptr;
}

napi_value DenseBackwardParams(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  Arena* arena;
  float *dw, *db, *dz, *a;
  size_t rows, inputs, outputs, from, to;
  int accumulate = 0;  // 0 or 1, as the wasm module takes it (one adapter serves both)
  if (!arguments(env, info, argv, &arena) || !to_floats(env, argv[0], arena, &dw) || !to_floats(env, argv[1], arena, &db) ||
      !to_floats(env, argv[2], arena, &dz) || !to_floats(env, argv[3], arena, &a) || !to_size(env, argv[4], &rows) ||
      !to_size(env, argv[5], &inputs) || !to_size(env, argv[6], &outputs) || !to_int(env, argv[7], &accumulate) ||
      !to_size(env, argv[8], &from) || !to_size(env, argv[9], &to))
    return nullptr;
  if (from > to || to > outputs) {
    napi_throw_range_error(env, nullptr, "native kernels: the neuron range [from, to) must lie in [0, outputs)");
    return nullptr;
  }
  arena->kernels->denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, accumulate != 0, from, to);
  return nullptr;
}

napi_value DenseBackwardInput(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Arena* arena;
  float *da, *dz, *w;
  size_t rows, inputs, outputs;
  if (!arguments(env, info, argv, &arena) || !to_floats(env, argv[0], arena, &da) || !to_floats(env, argv[1], arena, &dz) ||
      !to_floats(env, argv[2], arena, &w) || !to_size(env, argv[3], &rows) || !to_size(env, argv[4], &inputs) ||
      !to_size(env, argv[5], &outputs))
    return nullptr;
  arena->kernels->denseBackwardInput(da, dz, w, rows, inputs, outputs);
  return nullptr;
}

/** Both activation kernels take (kind, two float offsets, count, parameter, columns, stride). */
struct ActivationArgs {
  Arena* arena;
  int kind;
  float *x, *y;
  size_t count;
  double parameter;
  size_t columns, stride;
};

bool activation_args(napi_env env, napi_callback_info info, ActivationArgs* args) {
  napi_value argv[7];
  if (!(arguments(env, info, argv, &args->arena) && to_int(env, argv[0], &args->kind) && to_floats(env, argv[1], args->arena, &args->x) &&
        to_floats(env, argv[2], args->arena, &args->y) && to_size(env, argv[3], &args->count) && to_double(env, argv[4], &args->parameter) &&
        to_size(env, argv[5], &args->columns) && to_size(env, argv[6], &args->stride)))
    return false;
  if (args->columns == 0 || args->count % args->columns != 0 || (args->stride < args->columns && args->count != args->columns)) {
    napi_throw_range_error(env, nullptr, "native kernels: activation runs must tile count, stride >= columns > 0");
    return false;
  }
  return true;
}

napi_value ActivationForward(napi_env env, napi_callback_info info) {
  ActivationArgs c;  // x: out, y: z
  if (activation_args(env, info, &c)) c.arena->kernels->activationForward(c.kind, c.x, c.y, c.count, c.parameter, c.columns, c.stride);
  return nullptr;
}

napi_value ActivationBackward(napi_env env, napi_callback_info info) {
  ActivationArgs c;  // x: grad, y: saved
  if (activation_args(env, info, &c)) c.arena->kernels->activationBackward(c.kind, c.x, c.y, c.count, c.parameter, c.columns, c.stride);
  return nullptr;
}

napi_value OutputLoss(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Arena* arena;
  int kind;
  float *out, *dz, *y;
  size_t rows, outputs;
  if (!arguments(env, info, argv, &arena) || !to_int(env, argv[0], &kind) || !to_floats(env, argv[1], arena, &out) ||
      !to_floats(env, argv[2], arena, &dz) || !to_floats(env, argv[3], arena, &y) || !to_size(env, argv[4], &rows) ||
      !to_size(env, argv[5], &outputs))
    return nullptr;
  napi_value result;
  napi_create_double(env, arena->kernels->outputLoss(kind, out, dz, y, rows, outputs), &result);
  return result;
}

napi_value AddInto(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Arena* arena;
  float *into, *add;
  size_t count;
  if (!arguments(env, info, argv, &arena) || !to_floats(env, argv[0], arena, &into) || !to_floats(env, argv[1], arena, &add) ||
      !to_size(env, argv[2], &count))
    return nullptr;
  arena->kernels->addInto(into, add, count);
  return nullptr;
}

napi_value GatherRows(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Arena* arena;
  float *into, *data;
  size_t order_offset, rows, width;
  if (!arguments(env, info, argv, &arena) || !to_floats(env, argv[0], arena, &into) || !to_floats(env, argv[1], arena, &data) ||
      !to_size(env, argv[2], &order_offset) || !to_size(env, argv[3], &rows) || !to_size(env, argv[4], &width))
    return nullptr;
  // the wrapper has checked that every order entry names a row of the data
  arena->kernels->gatherRows(into, data, reinterpret_cast<const int32_t*>(arena->base + order_offset), rows, width);
  return nullptr;
}

napi_value OptimizerUpdate(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  Arena* arena;
  int kind;
  float *w, *g, *first, *second;
  size_t count;
  double h[8];
  if (!arguments(env, info, argv, &arena) || !to_int(env, argv[0], &kind) || !to_floats(env, argv[1], arena, &w) ||
      !to_floats(env, argv[2], arena, &g) || !to_floats(env, argv[3], arena, &first) || !to_floats(env, argv[4], arena, &second) ||
      !to_size(env, argv[5], &count))
    return nullptr;
  for (int i = 0; i < 8; i++)
    if (!to_double(env, argv[6 + i], &h[i])) return nullptr;
  arena->kernels->optimizerUpdate(kind, w, g, first, second, count, h);
  return nullptr;
}

// ---- module functions ----

napi_value string_array(napi_env env, bool only_supported) {
  napi_value array;
  napi_create_array(env, &array);
  uint32_t index = 0;
  for (const Level& level : LEVELS) {
    if (only_supported && !level.supported()) continue;
    napi_value name;
    napi_create_string_utf8(env, level.name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, array, index++, name);
  }
  return array;
}

void free_arena(napi_env, void* data, void*) { free(data); }

/** attach(view: Uint8Array over the shared buffer, isa: string) → { denseForward, … } */
napi_value Attach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  bool is_typedarray = false;
  if (argc < 2 || napi_is_typedarray(env, argv[0], &is_typedarray) != napi_ok || !is_typedarray) {
    napi_throw_type_error(env, nullptr, "attach needs a Uint8Array over the arena's buffer and an instruction-set level");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &byte_offset) != napi_ok) return nullptr;
  if (byte_offset != 0 || data == nullptr) {
    napi_throw_range_error(env, nullptr, "attach needs a view that starts at byte 0 of the arena");
    return nullptr;
  }
  char isa[16];
  size_t isa_length = 0;
  if (napi_get_value_string_utf8(env, argv[1], isa, sizeof isa, &isa_length) != napi_ok) return nullptr;
  const Level* chosen = nullptr;
  for (const Level& level : LEVELS)
    if (strcmp(level.name, isa) == 0) chosen = &level;
  if (chosen == nullptr || !chosen->supported()) {
    napi_throw_range_error(env, nullptr, "this instruction-set level is not compiled in or not supported by this CPU");
    return nullptr;
  }

  Arena* arena = static_cast<Arena*>(malloc(sizeof(Arena)));  // once per attach, freed with the object
  if (arena == nullptr) {
    napi_throw_error(env, nullptr, "out of memory");
    return nullptr;
  }
  arena->base = static_cast<uint8_t*>(data);
  arena->kernels = chosen->table;
  napi_value result;
  napi_create_object(env, &result);
  if (napi_add_finalizer(env, result, arena, free_arena, nullptr, nullptr) != napi_ok) {
    free(arena);
    return nullptr;
  }
  napi_value isa_name;
  napi_create_string_utf8(env, chosen->name, NAPI_AUTO_LENGTH, &isa_name);
  const napi_property_descriptor properties[] = {
      {"isa", nullptr, nullptr, nullptr, nullptr, isa_name, napi_enumerable, nullptr},
      {"denseForward", nullptr, DenseForward, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"denseBackwardParams", nullptr, DenseBackwardParams, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"denseBackwardInput", nullptr, DenseBackwardInput, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"activationForward", nullptr, ActivationForward, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"activationBackward", nullptr, ActivationBackward, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"outputLoss", nullptr, OutputLoss, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"addInto", nullptr, AddInto, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_enumerable, arena},
      {"optimizerUpdate", nullptr, OptimizerUpdate, nullptr, nullptr, nullptr, napi_enumerable, arena},
  };
  if (napi_define_properties(env, result, sizeof properties / sizeof properties[0], properties) != napi_ok) return nullptr;
  return result;
}

}  // namespace

// The hash of the sources this addon was built from (src/native/source-hash.cjs), which every build
// passes as a bare token; the loader refuses an addon whose hash is not that of the sources beside it.
#ifndef GRADPOOL_SOURCE_HASH
#error "build with -DGRADPOOL_SOURCE_HASH=<node src/native/source-hash.cjs> (binding.gyp and prebuild.mjs do)"
#endif
#define GRADPOOL_STRING(token) #token
#define GRADPOOL_EXPANDED_STRING(macro) GRADPOOL_STRING(macro)

NAPI_MODULE_INIT() {
  napi_value source_hash;
  if (napi_create_string_utf8(env, GRADPOOL_EXPANDED_STRING(GRADPOOL_SOURCE_HASH), NAPI_AUTO_LENGTH, &source_hash) != napi_ok) return nullptr;
  const napi_property_descriptor properties[] = {
      {"sourceHash", nullptr, nullptr, nullptr, nullptr, source_hash, napi_enumerable, nullptr},
      {"compiledLevels", nullptr, nullptr, nullptr, nullptr, string_array(env, false), napi_enumerable, nullptr},
      {"supportedLevels", nullptr, nullptr, nullptr, nullptr, string_array(env, true), napi_enumerable, nullptr},
      {"attach", nullptr, Attach, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return nullptr;
  return exports;
}
