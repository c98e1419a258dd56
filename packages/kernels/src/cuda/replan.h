// For benchmark drivers (bench/gpu/etok_capi.cpp): re-plan a prepared CUDA kernel after changing the ETOK_CUDA_*
// knobs (dispatch_policy.h), keeping its uploaded inputs. Not part of the public API: the harness prepares a
// kernel once with the knobs of its environment.
#pragma once

#include "etok/kernels/attention.h"

namespace etok::kernels {

/** Re-reads the knobs and plans `prepared` anew (path, variant, splits); false when it is not a CUDA kernel or the
 *  build has none. Throws BadShape for a knob that does not apply, as prepareCuda does. */
bool replanCuda(PreparedAttention& prepared);

}  // namespace etok::kernels
