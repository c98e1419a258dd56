#include "profile/driver_api.h"

#include <dlfcn.h>

#include "profile/libraries.h"

namespace etok::profile {

namespace {

template <typename Fn>
void resolve(void* h, Fn& slot, std::initializer_list<const char*> names, bool required, std::string& missing) {
  for (const char* name : names) {
    if (void* f = dlsym(h, name)) {
      slot = reinterpret_cast<Fn>(f);
      return;
    }
  }
  if (required) missing += (missing.empty() ? "" : ", ") + std::string(*names.begin());
}

}  // namespace

std::string DriverApi::load() {
  // The program's driver is loaded already (it loaded this library); RTLD_NOLOAD finds it without loading another.
  const std::string name = cudaLibraryName();
  void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!h) h = dlopen(name.c_str(), RTLD_NOW);
  if (!h) {
    const char* e = dlerror();
    return "cannot load " + name + " (" + (e ? e : "unknown error") + ")";
  }
  std::string missing;
  resolve(h, ctxSynchronize, {"cuCtxSynchronize"}, true, missing);
  resolve(h, ctxGetDevice, {"cuCtxGetDevice"}, true, missing);
  resolve(h, deviceGetCount, {"cuDeviceGetCount"}, true, missing);
  resolve(h, deviceGetUuid, {"cuDeviceGetUuid_v2", "cuDeviceGetUuid"}, true, missing);
  resolve(h, launchKernel, {"cuLaunchKernel"}, true, missing);
  resolve(h, launchCooperativeKernel, {"cuLaunchCooperativeKernel"}, false, missing);
  resolve(h, launchKernelEx, {"cuLaunchKernelEx"}, false, missing);
  resolve(h, funcGetParamInfo, {"cuFuncGetParamInfo"}, false, missing);
  resolve(h, kernelGetParamInfo, {"cuKernelGetParamInfo"}, false, missing);
  resolve(h, funcGetName, {"cuFuncGetName"}, false, missing);
  resolve(h, memAlloc, {"cuMemAlloc_v2"}, true, missing);
  resolve(h, memFree, {"cuMemFree_v2"}, true, missing);
  resolve(h, memHostAlloc, {"cuMemHostAlloc"}, true, missing);
  resolve(h, memFreeHost, {"cuMemFreeHost"}, true, missing);
  resolve(h, memGetInfo, {"cuMemGetInfo_v2"}, true, missing);
  resolve(h, memcpy, {"cuMemcpy"}, true, missing);
  resolve(h, memGetAddressRange, {"cuMemGetAddressRange_v2"}, true, missing);
  resolve(h, streamSynchronize, {"cuStreamSynchronize"}, true, missing);
  resolve(h, streamIsCapturing, {"cuStreamIsCapturing"}, true, missing);
  resolve(h, eventCreate, {"cuEventCreate"}, true, missing);
  resolve(h, eventRecord, {"cuEventRecord"}, true, missing);
  resolve(h, eventSynchronize, {"cuEventSynchronize"}, true, missing);
  resolve(h, eventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, true, missing);
  resolve(h, eventDestroy, {"cuEventDestroy_v2"}, true, missing);
  resolve(h, getErrorName, {"cuGetErrorName"}, true, missing);
  return missing.empty() ? "" : name + " lacks " + missing + " (etok profile needs a CUDA 12 driver or newer)";
}

std::string DriverApi::errorName(CUresult rc) const {
  const char* n = nullptr;
  if (getErrorName && getErrorName(rc, &n) == CUDA_SUCCESS && n)
    return std::string(n) + " (" + std::to_string(rc) + ")";
  return "CUresult " + std::to_string(rc);
}

DriverApi& driver() {
  static DriverApi api;
  return api;
}

}  // namespace etok::profile
