// A C ABI over the CUDA backend for bench/gpu/run.py and sweep_decode.py (ctypes): prepare one problem on seeded
// synthetic inputs (or on another handle's inputs, under a different lever set or dtype), run it, read device time
// from the backend's events, flush L2, poison and check against the fp64 references, read the output, and re-plan
// after changing the ETOK_CUDA_* knobs without re-uploading the inputs.
// Every function returns 0 on success, or -1 with the message in etok_last_error() (per thread).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "etok/kernels/attention.h"
#include "replan.h"

using namespace etok::kernels;

namespace {

thread_local std::string lastError;

struct Handle {
  Problem problem;
  std::shared_ptr<const HostTensors> inputs;  // shared by the handles prepared like this one
  std::unique_ptr<PreparedAttention> kernel;
};

template <class F> int guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const BadShape& e) {
    lastError = std::string("BAD_SHAPE(") + e.field() + "): " + e.what();
  } catch (const std::exception& e) {
    lastError = e.what();
  }
  return -1;
}

}  // namespace

extern "C" {

const char* etok_last_error() { return lastError.c_str(); }

/** shape: batch, heads, kvHeads, headDim, qLen, kvLen, rank, ropeDim; params: scale, blockSize, topK, window. */
void* etok_prepare(const char* variant, const char* phase, const char* dtype, const long long* shape,
                   const double* params, const char* profile, unsigned long long seed, int device) {
  auto h = std::make_unique<Handle>();
  const int rc = guarded([&] {
    Problem& p = h->problem;
    p.variant = parseVariant(variant);
    p.phase = parsePhase(phase);
    p.dtype = parseDtype(dtype);
    p.shape = Shape{shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], shape[6], shape[7]};
    p.params.scale = params[0];
    p.params.blockSize = static_cast<int64_t>(params[1]);
    p.params.topK = static_cast<int64_t>(params[2]);
    p.params.window = static_cast<int64_t>(params[3]);
    validate(p);
    h->inputs = std::make_shared<const HostTensors>(syntheticInputs(p, profile, seed));
    h->kernel = prepareCuda(p, *h->inputs, device);
  });
  return rc == 0 ? h.release() : nullptr;
}

/** A handle on the same shape, parameters and inputs as `base`, under another lever set and dtype (the inputs are
 *  shared, not generated again: dense, kv-* and sparse read the same q, k, v). */
void* etok_prepare_like(void* base, const char* variant, const char* dtype, int device) {
  auto h = std::make_unique<Handle>();
  const int rc = guarded([&] {
    const Handle& b = *static_cast<Handle*>(base);
    h->problem = b.problem;
    h->problem.variant = parseVariant(variant);
    h->problem.dtype = parseDtype(dtype);
    validate(h->problem);
    h->inputs = b.inputs;
    h->kernel = prepareCuda(h->problem, *h->inputs, device);
  });
  return rc == 0 ? h.release() : nullptr;
}

/** Re-reads ETOK_CUDA_PATH / _STREAM / _SPLITS / _SPLIT_RULE and plans the launch anew on the uploaded inputs. */
int etok_replan(void* handle) {
  return guarded([&] {
    if (!replanCuda(*static_cast<Handle*>(handle)->kernel)) throw std::runtime_error("not a CUDA kernel");
  });
}

int etok_output_size(void* handle, long long* elements) {
  return guarded([&] { *elements = outputSpec(static_cast<Handle*>(handle)->problem).elements(); });
}

/** Copies the output of the last run (as f32) into out[0 .. capacity). */
int etok_output(void* handle, float* out, long long capacity) {
  return guarded([&] {
    const std::vector<float> o = static_cast<Handle*>(handle)->kernel->output();
    if (static_cast<long long>(o.size()) > capacity) throw std::runtime_error("output buffer too small");
    std::memcpy(out, o.data(), o.size() * sizeof(float));
  });
}

int etok_poison(void* handle) {
  return guarded([&] { static_cast<Handle*>(handle)->kernel->poisonOutput(); });
}

void etok_free(void* handle) { delete static_cast<Handle*>(handle); }

/** Prepares the same problem on the same inputs again, reading the environment anew (ETOK_CUDA_PATH,
 *  ETOK_HOPPER_CONFIG, ETOK_CUDA_SPLITS): a sweep over kernel configurations skips regenerating large inputs. */
int etok_reprepare(void* handle, int device) {
  return guarded([&] {
    Handle& h = *static_cast<Handle*>(handle);
    h.kernel.reset();
    h.kernel = prepareCuda(h.problem, *h.inputs, device);
  });
}

/** Enqueues `calls` runs (no synchronisation). */
int etok_run(void* handle, int calls) {
  return guarded([&] {
    for (int i = 0; i < calls; i++) static_cast<Handle*>(handle)->kernel->run();
  });
}

int etok_synchronize(void* handle) {
  return guarded([&] { static_cast<Handle*>(handle)->kernel->synchronize(); });
}

/** Device seconds of the last run (CUDA events around its launches). */
int etok_last_seconds(void* handle, double* seconds) {
  return guarded([&] { *seconds = static_cast<Handle*>(handle)->kernel->lastRunDeviceSeconds(); });
}

int etok_flush_l2(void* handle) {
  return guarded([&] { static_cast<Handle*>(handle)->kernel->flushDeviceCaches(); });
}

int etok_describe(void* handle, char* buffer, int length) {
  return guarded([&] {
    const std::string d = static_cast<Handle*>(handle)->kernel->describe();
    std::snprintf(buffer, static_cast<size_t>(length), "%s", d.c_str());
  });
}

/** Poisons the output, runs once and compares with both fp64 references (small shapes: they run on the host). */
int etok_check(void* handle, double* relExact, double* relDense, long long* nonFinite) {
  return guarded([&] {
    Handle& h = *static_cast<Handle*>(handle);
    h.kernel->poisonOutput();
    h.kernel->run();
    h.kernel->synchronize();
    const std::vector<float> out = h.kernel->output();
    long long bad = 0;
    for (float x : out) bad += !std::isfinite(x);
    *nonFinite = bad;
    *relExact = relativeL2(out, referenceExact(h.problem, *h.inputs));
    *relDense = relativeL2(out, referenceDense(h.problem, *h.inputs));
  });
}

}  // extern "C"
