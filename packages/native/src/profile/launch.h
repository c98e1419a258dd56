// One kernel launch as a driver launch call made it (function, grid, block, shared memory, stream, arguments),
// copied inside the launch callback so it can be made again, any number of times, after the callback's data is
// gone. The arguments are copied by value with their sizes from the driver (cuFuncGetParamInfo), or as the packed
// buffer a launch passes through `extra`.
#pragma once

#include <cuda.h>
#include <cupti.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace etok::profile {

/** What tells launches of one kernel apart in a trace: its symbol and launch configuration. */
struct LaunchKey {
  std::string symbol;  // mangled, as CUPTI names it
  std::array<unsigned, 3> grid{}, block{};
  unsigned sharedMemBytes = 0;  // dynamic shared memory

  std::string text() const;  // "symbol|gx,gy,gz|bx,by,bz|smem": the join key of trace, targets and replays
};

/** True for the driver launch callbacks this library handles (cuLaunchKernel, cuLaunchKernelEx, cooperative, and
    their per-thread-stream forms). */
bool isDriverLaunch(CUpti_CallbackId cbid);

/** The key and stream of a driver launch, cheaply (no copies): for counting launches. */
LaunchKey keyOfDriverLaunch(CUpti_CallbackId cbid, const void* params, const char* symbol);
CUstream streamOfDriverLaunch(CUpti_CallbackId cbid, const void* params);

class CapturedLaunch {
 public:
  /** Copies a driver launch; throws std::runtime_error saying why its arguments cannot be copied. */
  CapturedLaunch(CUpti_CallbackId cbid, const void* params, const char* symbol);
  CapturedLaunch(const CapturedLaunch&) = delete;
  CapturedLaunch& operator=(const CapturedLaunch&) = delete;

  /** The same launch again, on the same stream. */
  CUresult launch();

  const LaunchKey& key() const { return key_; }
  CUstream stream() const { return stream_; }
  size_t argumentBytes() const { return bytes_.size(); }
  std::string describe() const;

  /** The 8-byte-aligned words of the arguments: the device pointers among them name memory the kernel reads. */
  std::vector<uint64_t> argumentWords() const;

 private:
  enum class Api { Kernel, KernelEx, Cooperative };
  Api api_ = Api::Kernel;
  LaunchKey key_;
  CUfunction function_ = nullptr;
  CUstream stream_ = nullptr;
  std::vector<uint8_t> bytes_;       // every argument's value, back to back (8-byte aligned slots)
  std::vector<void*> arguments_;     // kernelParams: pointers into bytes_
  bool packed_ = false;              // the launch passed one packed buffer through `extra`
  size_t packedSize_ = 0;
  std::vector<void*> extra_;
  CUlaunchConfig config_{};
  std::vector<CUlaunchAttribute> attributes_;

  void copyArguments(void** kernelParams, void** extra);
};

}  // namespace etok::profile
