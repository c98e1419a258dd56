// Stands in for the CUDA backend in builds without nvcc, so callers link the same symbols either way.
#include "etok/kernels/attention.h"
#include "etok/kernels/errors.h"
#include "replan.h"

namespace etok::kernels {

std::unique_ptr<PreparedAttention> prepareCuda(const Problem&, const HostTensors&, int) {
  throw CodedError("CUDA_NOT_COMPILED", "this etok build has no CUDA kernels (nvcc was not found at build time)");
}

bool replanCuda(PreparedAttention&) { return false; }

}  // namespace etok::kernels
