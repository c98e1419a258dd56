// One Promise-returning worker per operation: Execute only calls the pure-C++ harness.
#pragma once

#include <napi.h>

namespace etok::addon {

/** measure(plan | plans[], onProgress?, cancelToken?: Int32Array) → Promise<result | results[]>. An array is
    measured as one interleaved group (harness::measureGroup). Setting cancelToken[0] = 1 (Atomics)
    stops the harness between calls; the promise then resolves with what was measured and cancelled: true. */
Napi::Value Measure(const Napi::CallbackInfo& info);

}  // namespace etok::addon
