// Running attention: host float32 inputs in, float32 output out (docs/spec.md §3 `runKernel`), plus the prepared
// form the harness times (inputs already stored at their dtype on the device, so each call measures only the kernel).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "etok/kernels/problem.h"

namespace etok::kernels {

/** Host float32 tensors by the names of docs/spec.md §3 ("q", "k", "v" or "qNope", "qRope", "ckv", "kRope"). */
using HostTensors = std::map<std::string, std::vector<float>>;

/** Checks names and lengths against inputSpecs(); throws BadShape naming the tensor. */
void checkInputs(const Problem& p, const HostTensors& inputs);

/** One problem with its inputs resident and converted; run() may be called many times. */
class PreparedAttention {
 public:
  virtual ~PreparedAttention() = default;
  virtual void run() = 0;
  /** Waits for queued work (a no-op on the CPU). */
  virtual void synchronize() {}
  /** Copies the last output to host float32 (length outputSpec(p).elements()). */
  virtual std::vector<float> output() = 0;

  // Optional hooks of device backends; the defaults are what a CPU backend needs (nothing).
  /** Device time of the last run() in seconds, from events recorded around its launches (waits for them);
   *  negative when the backend has no device clock. */
  virtual double lastRunDeviceSeconds() { return -1.0; }
  /** Evicts the device's caches (L2) before a cold sample, enqueued like a run(); the host flushes its own. */
  virtual void flushDeviceCaches() {}
  /** Overwrites the output and intermediates with NaN so that the next output() proves every element was written. */
  virtual void poisonOutput() {}
  /** The kernel path chosen, for logs and results (e.g. "cuda mma<d128, 64 rows>, grid 4x16x1, 1 KV split(s)"). */
  virtual std::string describe() const { return {}; }
};

/** CPU path; `threads` <= 0 uses every hardware thread. */
std::unique_ptr<PreparedAttention> prepareCpu(const Problem& p, const HostTensors& inputs, int threads = 0);

/** The vector path prepareCpu runs on this machine: "avx2" where the CPU has AVX2 + FMA + F16C, else "portable";
 *  the environment variable ETOK_CPU_ISA (portable, avx2, avx512) chooses instead. AVX-512 is chosen only that way
 *  until it has run on AVX-512 hardware. Throws std::invalid_argument naming the value when it is unknown or this CPU
 *  cannot run it. */
const char* cpuKernelIsa();

/** CUDA path on device `device`; in a build without CUDA it throws CodedError CUDA_NOT_COMPILED. */
std::unique_ptr<PreparedAttention> prepareCuda(const Problem& p, const HostTensors& inputs, int device);

/** fp64 reference of the variant itself (its selection and its KV quantization applied exactly). */
std::vector<double> referenceExact(const Problem& p, const HostTensors& inputs);
/** fp64 reference of dense attention on the same inputs (no sparsity, no quantization; MLA stays MLA). */
std::vector<double> referenceDense(const Problem& p, const HostTensors& inputs);

/** The reference's NSA-style selection (sparse lever only): for each (batch, kv group, query row), in that order,
 *  the selected block indices, ascending. Under mla the latent cache is the one group. */
std::vector<std::vector<int64_t>> referenceSelection(const Problem& p, const HostTensors& inputs);

/** Relative L2 error ||out - ref|| / ||ref||. */
double relativeL2(const std::vector<float>& out, const std::vector<double>& ref);

/** Seeded synthetic inputs: `uniform` random, or `peaked` (planted key blocks aligned with each query). */
HostTensors syntheticInputs(const Problem& p, const std::string& profile, uint64_t seed);

}  // namespace etok::kernels
