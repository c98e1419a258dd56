// Where `etok profile` finds the CUDA driver and CUPTI, and whether they load: one answer shared by the CLI's
// checks before a run (through the addon) and the injection library inside the profiled program, so both load
// the same files. Both are loaded with dlopen, never linked, so etok builds and runs where neither exists.
#pragma once

#include <string>
#include <vector>

namespace etok::profile {

/** A library etok tried to load: the file it loaded (or the candidates it tried) and why not, when not. */
struct LibraryProbe {
  bool ok = false;
  std::string path;    // what loaded
  std::string reason;  // why nothing did: each candidate and dlerror(), and what to do
};

/** The CUDA driver: ETOK_CUDA_LIBRARY when set (a test's stand-in), else libcuda.so.1. */
std::string cudaLibraryName();

/** CUPTI's candidates, in order: ETOK_CUPTI_LIBRARY when set (then only it), else a libcupti.so beside etok's own
    libraries, the file of the toolkit etok was built with, then libcupti.so.<major> and libcupti.so on the loader's
    path. */
std::vector<std::string> cuptiCandidates();

/** Loads the driver and calls cuInit(0) and cuDeviceGetCount: ok only when a device answers. */
LibraryProbe probeCudaDriver();

/** Loads CUPTI (the first candidate that loads) without initialising it. */
LibraryProbe probeCupti();

}  // namespace etok::profile
