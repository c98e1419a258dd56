#include "profile/libraries.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>

#include "etok/config.h"

namespace etok::profile {

namespace {

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

std::string cudaLibraryName() { return envOr("ETOK_CUDA_LIBRARY", "libcuda.so.1"); }

std::vector<std::string> cuptiCandidates() {
  const std::string forced = envOr("ETOK_CUPTI_LIBRARY", "");
  if (!forced.empty()) return {forced};
  std::vector<std::string> out;
  // A libcupti.so packed beside etok's own libraries (a bundle made by bench/gpu/stage.sh) is the one it was built
  // against.
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&cuptiCandidates), &self) && self.dli_fname) {
    const std::string file = self.dli_fname;
    const auto slash = file.find_last_of('/');
    if (slash != std::string::npos) out.push_back(file.substr(0, slash) + "/libcupti.so");
  }
  const std::string built = ETOK_CUPTI_LIBRARY_PATH;
  if (!built.empty()) out.push_back(built);
  const std::string major = ETOK_CUPTI_MAJOR;
  if (!major.empty()) out.push_back("libcupti.so." + major);
  out.push_back("libcupti.so");
  return out;
}

LibraryProbe probeCudaDriver() {
  LibraryProbe p;
  const std::string name = cudaLibraryName();
  void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    p.reason = "no NVIDIA driver: " + name + " cannot be loaded (" + (e ? e : "unknown error") +
               "); install the NVIDIA driver, or run etok profile on the machine with the GPU";
    return p;
  }
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(h, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(h, "cuDeviceGetCount"));
  if (!init || !count) {
    p.reason = name + " has no cuInit/cuDeviceGetCount: it is not a CUDA driver library";
    return p;  // the handle stays loaded: unloading a driver library is not worth the risk
  }
  const int rc = init(0);
  int n = 0;
  if (rc != 0 || count(&n) != 0 || n <= 0) {
    p.reason = "no CUDA device: cuInit returned " + std::to_string(rc) + " with " + name +
               (rc == 100  ? " (CUDA_ERROR_NO_DEVICE)"
                : rc == 35 ? " (CUDA_ERROR_INSUFFICIENT_DRIVER)"
                           : "") +
               "; run etok profile on a machine whose GPU the driver sees";
    return p;
  }
  p.ok = true;
  p.path = name;
  return p;
}

LibraryProbe probeCupti() {
  LibraryProbe p;
  std::string tried;
  const std::vector<std::string> candidates = cuptiCandidates();
  for (const auto& c : candidates) {
    struct stat st{};
    // A path that names no file is skipped quietly unless it is the only candidate (the user's own choice).
    if (c.find('/') != std::string::npos && stat(c.c_str(), &st) != 0 && candidates.size() > 1) continue;
    void* h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      p.ok = true;
      p.path = c;
      return p;
    }
    const char* e = dlerror();
    tried += (tried.empty() ? "" : "; ") + c + ": " + (e ? e : "not loadable");
  }
  p.reason = "CUPTI (libcupti, the CUDA toolkit's profiling library) cannot be loaded (tried " + tried +
             "); install the toolkit's CUPTI (e.g. the cuda-cupti package, or pip's nvidia-cuda-cupti) and set "
             "ETOK_CUPTI_LIBRARY to its libcupti.so";
  return p;
}

}  // namespace etok::profile
