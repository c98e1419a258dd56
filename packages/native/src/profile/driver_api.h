// The CUDA driver functions the injection library calls, resolved by name from the driver the profiled program has
// already loaded (the library is loaded by that driver's cuInit), so nothing links libcuda and the library builds
// wherever CUDA's headers exist. Optional functions (newer drivers only) are null when absent and say so.
#pragma once

#include <cuda.h>

#include <stdexcept>
#include <string>

#include "harness/executor.h"

namespace etok::profile {

struct DriverApi {
  CUresult (*ctxSynchronize)() = nullptr;
  CUresult (*ctxGetDevice)(CUdevice*) = nullptr;
  CUresult (*deviceGetCount)(int*) = nullptr;
  CUresult (*deviceGetUuid)(CUuuid*, CUdevice) = nullptr;
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,
                           void**, void**) = nullptr;
  CUresult (*launchCooperativeKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                      CUstream, void**) = nullptr;
  CUresult (*launchKernelEx)(const CUlaunchConfig*, CUfunction, void**, void**) = nullptr;  // CUDA 12.0+
  CUresult (*funcGetParamInfo)(CUfunction, size_t, size_t*, size_t*) = nullptr;             // CUDA 12.4+
  CUresult (*kernelGetParamInfo)(CUkernel, size_t, size_t*, size_t*) = nullptr;             // CUDA 12.4+
  CUresult (*funcGetName)(const char**, CUfunction) = nullptr;                               // CUDA 12.3+
  CUresult (*memAlloc)(CUdeviceptr*, size_t) = nullptr;
  CUresult (*memFree)(CUdeviceptr) = nullptr;
  CUresult (*memHostAlloc)(void**, size_t, unsigned) = nullptr;
  CUresult (*memFreeHost)(void*) = nullptr;
  CUresult (*memGetInfo)(size_t*, size_t*) = nullptr;
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t) = nullptr;  // unified addressing: any direction
  CUresult (*memGetAddressRange)(CUdeviceptr*, size_t*, CUdeviceptr) = nullptr;
  CUresult (*streamSynchronize)(CUstream) = nullptr;
  CUresult (*streamIsCapturing)(CUstream, CUstreamCaptureStatus*) = nullptr;
  CUresult (*eventCreate)(CUevent*, unsigned) = nullptr;
  CUresult (*eventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*eventSynchronize)(CUevent) = nullptr;
  CUresult (*eventElapsedTime)(float*, CUevent, CUevent) = nullptr;
  CUresult (*eventDestroy)(CUevent) = nullptr;
  CUresult (*getErrorName)(CUresult, const char**) = nullptr;

  /** Resolves every function from the loaded driver; returns why it cannot (no driver, required functions
      missing), or an empty string. */
  std::string load();

  /** "CUDA_ERROR_ILLEGAL_ADDRESS (700)" */
  std::string errorName(CUresult rc) const;
};

/** The process's driver table (loaded on first use). */
DriverApi& driver();

/** A driver call that failed: the call and its CUresult. An executor's failure to the engine (a replay that fails
    ends that kernel's replay alone). */
class DriverError : public harness::ExecutorError {
 public:
  DriverError(const std::string& call, CUresult rc)
      : harness::ExecutorError("CUDA_DRIVER_ERROR", call + " returned " + driver().errorName(rc)), rc_(rc) {}
  CUresult code() const { return rc_; }

 private:
  CUresult rc_;
};

/** Throws DriverError unless rc is CUDA_SUCCESS. */
inline void check(CUresult rc, const char* call) {
  if (rc != CUDA_SUCCESS) throw DriverError(call, rc);
}

}  // namespace etok::profile
