/*
 * etok plugin ABI, version 1: measure your own attention kernel under etok's harness.
 *
 * A plugin is a shared library exporting one C symbol, `etok_plugin_descriptor`, that returns a pointer to a
 * static `etok_plugin`. etok loads it with dlopen, checks `abi_version` and `struct_size`, and then, for every
 * configuration of a sweep: `setup` (allocate and fill inputs for a problem), `run` many times (timed and
 * metered exactly like a built-in variant), optionally `output` (for a quality check against etok's fp64
 * reference of `reference_variant`), and `teardown`. `cost` gives the analytic FLOPs, bytes and tokens of one
 * call so etok can report the roofline, Φ_c and J/token.
 *
 * Rules: every function returns 0 on success and non-zero on failure, writing a message into `error` (at most
 * `error_size` bytes, NUL-terminated). Nothing may throw across this boundary. `run` must not return before its
 * work is enqueued on `cuda_stream` (device >= 0) or finished (CPU); etok synchronises the device itself.
 * See docs/plugins.md for a walk-through and examples/plugin-attention/ for a complete plugin.
 */
#ifndef ETOK_PLUGIN_H
#define ETOK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ETOK_PLUGIN_ABI_VERSION 1u

enum etok_phase { ETOK_PHASE_DECODE = 0, ETOK_PHASE_PREFILL = 1 };
enum etok_dtype { ETOK_DTYPE_F32 = 0, ETOK_DTYPE_BF16 = 1, ETOK_DTYPE_F16 = 2 };
enum etok_device_mask { ETOK_DEVICE_CPU = 1u, ETOK_DEVICE_CUDA = 2u };

/* The shape and parameters of docs/spec.md §3; fields a kernel does not use may be ignored. */
typedef struct etok_problem {
  int32_t phase; /* enum etok_phase */
  int32_t dtype; /* enum etok_dtype */
  int64_t batch, heads, kv_heads, head_dim, q_len, kv_len, rank, rope_dim;
  double scale; /* 0: the kernel's default */
  int64_t block_size, top_k, window;
} etok_problem;

/* One host float32 tensor in the layout of docs/spec.md §3, named as there ("q", "k", "v", "qNope", "qRope", "ckv",
   "kRope"). */
typedef struct etok_tensor {
  const char* name;
  const float* data;
  size_t count;
} etok_tensor;

typedef struct etok_cost {
  double flops;  /* per call: multiply-add = 2 FLOPs */
  double bytes;  /* per call: each input read once, output written once, at the stored dtype */
  double tokens; /* per call: batch for decode, batch × q_len for prefill */
} etok_cost;

typedef struct etok_plugin {
  uint32_t abi_version; /* ETOK_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(etok_plugin) */
  const char* name;     /* the variant name in results, e.g. "mine"; letters, digits, '-', '_' */
  const char* description;
  /* A built-in variant whose inputs the plugin accepts and whose fp64 reference judges its output
     ("dense", "mla", …), or NULL when the plugin makes its own inputs and has no quality check. */
  const char* reference_variant;
  uint32_t devices; /* enum etok_device_mask bits */

  /* Prepare one problem on `device` (-1 = CPU, N = CUDA device N). With a reference variant, `inputs` holds
     etok's synthetic inputs for it (`input_count` tensors); otherwise inputs is NULL and the plugin makes its own.
     On success *instance is the plugin's state for the other calls. */
  int (*setup)(const etok_problem* problem, int device, const etok_tensor* inputs, size_t input_count, void** instance,
               char* error, size_t error_size);
  /* One call of the kernel. cuda_stream is a cudaStream_t (NULL = the default stream) or NULL on the CPU. */
  int (*run)(void* instance, void* cuda_stream, char* error, size_t error_size);
  /* Analytic cost of one call of `problem` (no instance needed). */
  int (*cost)(const etok_problem* problem, etok_cost* cost, char* error, size_t error_size);
  /* Optional (may be NULL): copy the last output, float32 in the layout of docs/spec.md §3, `count` elements. */
  int (*output)(void* instance, float* out, size_t count, char* error, size_t error_size);
  void (*teardown)(void* instance);
} etok_plugin;

/* The one symbol etok looks up. */
typedef const etok_plugin* (*etok_plugin_descriptor_fn)(void);
#define ETOK_PLUGIN_DESCRIPTOR_SYMBOL "etok_plugin_descriptor"

#ifdef __cplusplus
}
#endif

#endif /* ETOK_PLUGIN_H */
