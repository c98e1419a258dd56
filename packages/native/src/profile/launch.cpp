#include "profile/launch.h"

#include <cstring>
#include <sstream>
#include <stdexcept>

#include "profile/driver_api.h"

namespace etok::profile {

namespace {

// The per-thread-stream forms name the per-thread default stream as 0; a launch made again through the plain entry
// point must name it explicitly.
CUstream explicitStream(CUstream s, bool perThread) { return s == nullptr && perThread ? CU_STREAM_PER_THREAD : s; }

bool perThread(CUpti_CallbackId cbid) {
  return cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz || cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz ||
         cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz;
}

bool isEx(CUpti_CallbackId cbid) {
  return cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx || cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz;
}

bool isCooperative(CUpti_CallbackId cbid) {
  return cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel ||
         cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz;
}

/** How a function's argument layout is asked for: cuFuncGetParamInfo, or cuKernelGetParamInfo when the launch
    passed a library kernel handle (CUkernel) where a function is expected, as the runtime may. */
class ArgumentLayout {
 public:
  explicit ArgumentLayout(CUfunction f) : f_(f) {
    DriverApi& d = driver();
    size_t offset = 0, size = 0;
    const CUresult rf = d.funcGetParamInfo(f, 0, &offset, &size);
    if (rf == CUDA_SUCCESS) return;
    const CUresult rk = d.kernelGetParamInfo ? d.kernelGetParamInfo(reinterpret_cast<CUkernel>(f), 0, &offset, &size)
                                             : CUDA_ERROR_NOT_FOUND;
    if (rk == CUDA_SUCCESS) {
      kernelHandle_ = true;
      return;
    }
    // Both say "no argument 0" only for a function without arguments; anything else is a handle neither knows.
    if (rf == CUDA_ERROR_INVALID_VALUE && (rk == CUDA_ERROR_INVALID_VALUE || !d.kernelGetParamInfo)) {
      none_ = true;
      return;
    }
    throw std::runtime_error("cuFuncGetParamInfo returned " + d.errorName(rf) +
                             ": the kernel's arguments cannot be copied");
  }

  /** The offset and size of argument `i`, or false past the last one. */
  bool at(size_t i, size_t& offset, size_t& size) const {
    if (none_) return false;
    DriverApi& d = driver();
    const CUresult rc = kernelHandle_ ? d.kernelGetParamInfo(reinterpret_cast<CUkernel>(f_), i, &offset, &size)
                                      : d.funcGetParamInfo(f_, i, &offset, &size);
    if (rc == CUDA_SUCCESS) return true;
    if (rc == CUDA_ERROR_INVALID_VALUE) return false;
    throw std::runtime_error("the argument layout query returned " + d.errorName(rc));
  }

 private:
  CUfunction f_;
  bool kernelHandle_ = false, none_ = false;
};

}  // namespace

std::string LaunchKey::text() const {
  // Called at every launch of a traced program: plain appends, no stream.
  std::string s = symbol;
  s.reserve(symbol.size() + 48);
  s += '|';
  s += std::to_string(grid[0]) + ',' + std::to_string(grid[1]) + ',' + std::to_string(grid[2]);
  s += '|';
  s += std::to_string(block[0]) + ',' + std::to_string(block[1]) + ',' + std::to_string(block[2]);
  s += '|';
  s += std::to_string(sharedMemBytes);
  return s;
}

bool isDriverLaunch(CUpti_CallbackId cbid) {
  return cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel || cbid == CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz ||
         isEx(cbid) || isCooperative(cbid);
}

LaunchKey keyOfDriverLaunch(CUpti_CallbackId cbid, const void* params, const char* symbol) {
  LaunchKey k;
  if (symbol && *symbol) {
    k.symbol = symbol;
  } else {
    // No name in the callback: ask the driver (the name CUPTI's activity records carry too).
    const char* name = nullptr;
    const CUfunction f = isEx(cbid) ? static_cast<const cuLaunchKernelEx_params*>(params)->f
                                    : static_cast<const cuLaunchKernel_params*>(params)->f;
    if (driver().funcGetName && driver().funcGetName(&name, f) == CUDA_SUCCESS && name) k.symbol = name;
  }
  if (isEx(cbid)) {
    const CUlaunchConfig* c = static_cast<const cuLaunchKernelEx_params*>(params)->config;
    k.grid = {c->gridDimX, c->gridDimY, c->gridDimZ};
    k.block = {c->blockDimX, c->blockDimY, c->blockDimZ};
    k.sharedMemBytes = c->sharedMemBytes;
  } else {
    // cuLaunchKernel's and cuLaunchCooperativeKernel's parameter structs share their leading fields.
    const auto* p = static_cast<const cuLaunchKernel_params*>(params);
    k.grid = {p->gridDimX, p->gridDimY, p->gridDimZ};
    k.block = {p->blockDimX, p->blockDimY, p->blockDimZ};
    k.sharedMemBytes = p->sharedMemBytes;
  }
  return k;
}

CUstream streamOfDriverLaunch(CUpti_CallbackId cbid, const void* params) {
  if (isEx(cbid))
    return explicitStream(static_cast<const cuLaunchKernelEx_params*>(params)->config->hStream, perThread(cbid));
  return explicitStream(static_cast<const cuLaunchKernel_params*>(params)->hStream, perThread(cbid));
}

CapturedLaunch::CapturedLaunch(CUpti_CallbackId cbid, const void* params, const char* symbol)
    : key_(keyOfDriverLaunch(cbid, params, symbol)) {
  stream_ = streamOfDriverLaunch(cbid, params);
  if (isEx(cbid)) {
    const auto* p = static_cast<const cuLaunchKernelEx_params*>(params);
    api_ = Api::KernelEx;
    function_ = p->f;
    config_ = *p->config;
    config_.hStream = stream_;
    attributes_.assign(p->config->attrs, p->config->attrs + p->config->numAttrs);
    config_.attrs = attributes_.empty() ? nullptr : attributes_.data();
    copyArguments(p->kernelParams, p->extra);
  } else if (isCooperative(cbid)) {
    const auto* p = static_cast<const cuLaunchCooperativeKernel_params*>(params);
    api_ = Api::Cooperative;
    function_ = p->f;
    copyArguments(p->kernelParams, nullptr);
  } else {
    const auto* p = static_cast<const cuLaunchKernel_params*>(params);
    api_ = Api::Kernel;
    function_ = p->f;
    copyArguments(p->kernelParams, p->extra);
  }
}

void CapturedLaunch::copyArguments(void** kernelParams, void** extra) {
  if (kernelParams) {
    if (!driver().funcGetParamInfo)
      throw std::runtime_error(
          "this driver has no cuFuncGetParamInfo (a CUDA 12.4 driver or newer has it), so the kernel's arguments "
          "cannot be copied");
    std::vector<std::pair<size_t, size_t>> slots;  // (where in bytes_, size)
    size_t offset = 0, size = 0;
    const ArgumentLayout layout(function_);
    for (size_t i = 0; layout.at(i, offset, size); i++) {
      const size_t at = (bytes_.size() + 7) & ~size_t{7};
      bytes_.resize(at + size);
      std::memcpy(bytes_.data() + at, kernelParams[i], size);
      slots.push_back({at, size});
    }
    for (const auto& [at, n] : slots) arguments_.push_back(bytes_.data() + at);
    return;
  }
  if (!extra) return;  // a kernel without arguments
  void* buffer = nullptr;
  const size_t* bufferSize = nullptr;
  for (size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
    if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) buffer = extra[i + 1];
    else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) bufferSize = static_cast<const size_t*>(extra[i + 1]);
    else throw std::runtime_error("the launch passes an `extra` entry this version does not know");
  }
  if (!buffer || !bufferSize) throw std::runtime_error("the launch's packed argument buffer has no pointer or size");
  bytes_.assign(static_cast<const uint8_t*>(buffer), static_cast<const uint8_t*>(buffer) + *bufferSize);
  packed_ = true;
  packedSize_ = bytes_.size();
  extra_ = {CU_LAUNCH_PARAM_BUFFER_POINTER, bytes_.data(), CU_LAUNCH_PARAM_BUFFER_SIZE, &packedSize_,
            CU_LAUNCH_PARAM_END};
}

CUresult CapturedLaunch::launch() {
  DriverApi& d = driver();
  void** params = packed_ ? nullptr : (arguments_.empty() ? nullptr : arguments_.data());
  void** extra = packed_ ? extra_.data() : nullptr;
  switch (api_) {
    case Api::KernelEx:
      return d.launchKernelEx ? d.launchKernelEx(&config_, function_, params, extra) : CUDA_ERROR_NOT_SUPPORTED;
    case Api::Cooperative:
      return d.launchCooperativeKernel
                 ? d.launchCooperativeKernel(function_, key_.grid[0], key_.grid[1], key_.grid[2], key_.block[0],
                                             key_.block[1], key_.block[2], key_.sharedMemBytes, stream_, params)
                 : CUDA_ERROR_NOT_SUPPORTED;
    case Api::Kernel:
    default:
      return d.launchKernel(function_, key_.grid[0], key_.grid[1], key_.grid[2], key_.block[0], key_.block[1],
                            key_.block[2], key_.sharedMemBytes, stream_, params, extra);
  }
}

std::string CapturedLaunch::describe() const {
  std::ostringstream s;
  s << "replay of " << key_.symbol << " <<<(" << key_.grid[0] << ',' << key_.grid[1] << ',' << key_.grid[2] << "), ("
    << key_.block[0] << ',' << key_.block[1] << ',' << key_.block[2] << "), " << key_.sharedMemBytes << " B>>> via "
    << (api_ == Api::KernelEx      ? "cuLaunchKernelEx"
        : api_ == Api::Cooperative ? "cuLaunchCooperativeKernel"
                                   : "cuLaunchKernel")
    << ", " << bytes_.size() << " B of arguments";
  return s.str();
}

std::vector<uint64_t> CapturedLaunch::argumentWords() const {
  std::vector<uint64_t> out;
  for (size_t at = 0; at + 8 <= bytes_.size(); at += 8) {
    uint64_t w = 0;
    std::memcpy(&w, bytes_.data() + at, 8);
    if (w != 0) out.push_back(w);
  }
  return out;
}

}  // namespace etok::profile
