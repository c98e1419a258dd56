// Kernel-level addon exports (selectBlocks, timeKernel, cpuRoofline); see kernel_exports.cc.
#pragma once

#include <napi.h>

namespace etok::addon {

void registerKernelExports(Napi::Env env, Napi::Object exports);

}  // namespace etok::addon
