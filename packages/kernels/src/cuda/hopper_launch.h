// The Hopper (sm_90a) path of the CUDA backend: wgmma kernels fed by the bulk tensor copy engine (hopper/*.cuh).
// dispatch.cu asks planHopper() for it only when ETOK_CUDA_PATH=hopper: it has not run on a GPU yet, so nothing
// selects it by default. ETOK_HOPPER_CONFIG names a compiled tile configuration (the sweep's candidates) instead
// of the default one.
#pragma once

#include <memory>
#include <string>

#include "common.cuh"
#include "etok/kernels/problem.h"

namespace etok::kernels::cuda {

/** A planned Hopper attention launch: tensor maps, grid, shared memory. launch() enqueues the attention kernel
 *  only; NSA selection before it and the split combine after it stay with the caller. */
class HopperPath {
 public:
  virtual ~HopperPath() = default;
  virtual void launch(const AttnArgs& a, cudaStream_t stream) const = 0;
};

/** Plans the Hopper path for `p` with its inputs already uploaded into `a` (planes, selection buffers); sets
 *  a.splits and `description`. Throws BadShape naming the field when the path does not apply: a device other
 *  than compute capability 9.0, f32, dense decode, head dims other than 64/128 (mla: 512 + 64), an NSA block size
 *  that is not a power of two. */
std::unique_ptr<HopperPath> planHopper(const Problem& p, AttnArgs& a, int device, std::string& description);

/** The tile configurations compiled for a problem's family (the default first), for the sweep. */
std::string hopperConfigs(const Problem& p);

}  // namespace etok::kernels::cuda
