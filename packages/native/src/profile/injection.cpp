// The library `etok profile` puts into a CUDA program through CUDA_INJECTION64_PATH: the driver loads it during
// the program's cuInit and calls InitializeInjection. Nothing in the program changes. The CLI runs the program twice
// (docs/profile.md says why), and the environment says which pass this is:
//   trace   kernel activity records (trace.cpp) and a count of launches per kernel and configuration
//   replay  the same counting; at the chosen launch of each target kernel, a replay (replay.cpp)
// Both passes follow the program's device memory (memory_calls.cpp), so they see the same launches in the same
// order. Results go to files in ETOK_PROFILE_DIR named by process id (a program may start CUDA processes of its
// own): trace-PID.json, rewritten every second and at exit; intervals-PID.bin; events-PID.jsonl, a line per
// error, note or replay, flushed as it is written, so an interrupted program leaves what was measured.
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cupti.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>

#include "harness/json_value.h"
#include "meters/meter.h"
#include "profile/allocations.h"
#include "profile/cupti_api.h"
#include "profile/driver_api.h"
#include "profile/launch.h"
#include "profile/memory_calls.h"
#include "profile/replay.h"
#include "profile/trace.h"

namespace etok::profile {

namespace {

using harness::json::Value;

struct Target {
  int64_t launchIndex = 0;  // 1-based: which launch of the kernel (in this configuration) to replay at
  int index = 0;            // the target's position in the CLI's list (names its claim file)
};

struct LaunchCount {
  uint64_t seen = 0;       // launches that ran (not captured into a graph)
  uint64_t captured = 0;   // launches made while their stream was capturing a graph
};

struct State {
  std::string dir, mode;
  int pid = 0;
  ReplaySettings settings;
  AllocationTable allocations;
  ActivityTrace trace;
  std::unique_ptr<Replayer> replayer;
  std::unordered_map<std::string, Target> targets;
  std::mutex launchMutex;
  std::unordered_map<std::string, LaunchCount> launches;
  std::map<std::string, uint64_t> runtimeOnly;  // symbol → runtime launches with no driver launch inside
  std::vector<std::pair<int, std::string>> devices;  // (ordinal, UUID), read at the first launch
  bool devicesRead = false;
  std::mutex eventMutex;
  std::FILE* events = nullptr;
  // Held while a replay runs: launches from the program's other threads wait at their launch callback, so nothing
  // but the replayed kernel runs on the device and the memory restored is the memory saved.
  std::mutex replayMutex;
  std::atomic<bool> stop{false};
  std::mutex stopMutex;
  std::condition_variable stopCv;
  std::thread flusher;
  bool tracing = false;
};

State* state = nullptr;

// Calls etok makes itself (saving memory, the replayed launches, the meter) raise callbacks too: they are not the
// program's and are not counted.
thread_local int ownCalls = 0;
struct OwnCalls {
  OwnCalls() { ownCalls++; }
  ~OwnCalls() { ownCalls--; }
};

// Runtime launch calls in progress on this thread, and whether a driver launch was seen inside the outermost one.
thread_local int runtimeLaunchDepth = 0;
thread_local bool driverLaunchInside = false;

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string path(const std::string& name) { return state->dir + "/" + name; }

void event(const std::string& type, std::map<std::string, Value> fields) {
  fields["type"] = Value::string(type);
  fields["pid"] = Value::number(state->pid);
  fields["tNs"] = Value::number(static_cast<double>(meters::nowNs()));
  std::lock_guard<std::mutex> lock(state->eventMutex);
  if (!state->events) return;
  const std::string line = harness::json::write(Value::object(std::move(fields))) + "\n";
  std::fwrite(line.data(), 1, line.size(), state->events);
  std::fflush(state->events);
}

void error(const std::string& code, const std::string& message) {
  event("error", {{"code", Value::string(code)}, {"message", Value::string(message)}});
}

void writeAtomically(const std::string& file, const std::string& text) {
  const std::string tmp = file + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  std::rename(tmp.c_str(), file.c_str());
}

void writeSummary(bool complete) {
  std::map<std::string, Value> f;
  if (state->tracing) f = state->trace.summary().fields();
  std::vector<Value> launches, runtimeOnly, devices;
  {
    std::lock_guard<std::mutex> lock(state->launchMutex);
    for (const auto& [key, n] : state->launches)
      launches.push_back(Value::object({{"key", Value::string(key)},
                                        {"seen", Value::number(static_cast<double>(n.seen))},
                                        {"captured", Value::number(static_cast<double>(n.captured))}}));
    for (const auto& [symbol, n] : state->runtimeOnly)
      runtimeOnly.push_back(
          Value::object({{"symbol", Value::string(symbol)}, {"launches", Value::number(static_cast<double>(n))}}));
    for (const auto& [ordinal, uuid] : state->devices)
      devices.push_back(Value::object({{"ordinal", Value::number(ordinal)}, {"uuid", Value::string(uuid)}}));
  }
  f["schema"] = Value::string("etok.profile-pass/v1");
  f["mode"] = Value::string(state->mode);
  f["pid"] = Value::number(state->pid);
  f["complete"] = Value::boolean(complete);
  f["launches"] = Value::array(std::move(launches));
  f["runtimeOnlyLaunches"] = Value::array(std::move(runtimeOnly));
  f["devices"] = Value::array(std::move(devices));
  f["cupti"] = Value::object({{"path", Value::string(cupti().path)}});
  writeAtomically(path("trace-" + std::to_string(state->pid) + ".json"),
                  harness::json::write(Value::object(std::move(f))));
}

void flushLoop() {
  std::unique_lock<std::mutex> lock(state->stopMutex);
  while (!state->stop.load()) {
    state->stopCv.wait_for(lock, std::chrono::seconds(1));
    if (state->stop.load()) break;
    lock.unlock();
    if (state->tracing) state->trace.flush();
    writeSummary(false);
    lock.lock();
  }
}

void atExit() {
  if (!state) return;
  {
    std::lock_guard<std::mutex> lock(state->stopMutex);
    state->stop.store(true);
  }
  state->stopCv.notify_all();
  if (state->flusher.joinable()) state->flusher.join();
  if (state->tracing) state->trace.flush(true);
  writeSummary(true);
}

/** The target list the CLI wrote: one line per target, "launchIndex<TAB>key". */
void readTargets(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  int index = 0;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    Target t;
    t.launchIndex = std::atoll(line.substr(0, tab).c_str());
    t.index = index++;
    state->targets[line.substr(tab + 1)] = t;
  }
}

/** One process replays each target: the first to reach its launch claims it (a file made exclusively). */
bool claim(const Target& t) {
  const int fd = ::open(path("claim-" + std::to_string(t.index)).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void readDevices() {
  state->devicesRead = true;
  int n = 0;
  if (driver().deviceGetCount(&n) != CUDA_SUCCESS) return;
  for (int i = 0; i < n; i++) state->devices.push_back({i, deviceUuid(i)});
}

void replayAt(CUpti_CallbackId cbid, const CUpti_CallbackData* cb, const std::string& key, int64_t launchIndex) {
  std::unique_ptr<CapturedLaunch> launch;
  try {
    launch = std::make_unique<CapturedLaunch>(cbid, cb->functionParams, cb->symbolName);
  } catch (const std::exception& e) {
    event("replay", {{"key", Value::string(key)},
                     {"launchIndex", Value::number(static_cast<double>(launchIndex))},
                     {"reason", Value::string(e.what())}});
    return;
  }
  // Ctrl-C in etok makes a file the replay watches, so a long replay ends between calls.
  std::atomic<bool> cancel{false};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    const std::string cancelFile = path("cancel");
    while (!done.load()) {
      if (::access(cancelFile.c_str(), F_OK) == 0) cancel.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Value result = state->replayer->replay(*launch, launchIndex, cancel);
  done.store(true);
  watcher.join();
  event("replay", result.fields());
}

void onDriverLaunch(CUpti_CallbackId cbid, const CUpti_CallbackData* cb) {
  if (runtimeLaunchDepth > 0) driverLaunchInside = true;
  std::unique_lock<std::mutex> replaying(state->replayMutex, std::defer_lock);
  if (state->mode == "replay") replaying.lock();
  OwnCalls own;
  if (!state->devicesRead) readDevices();
  // A launch into a stream that is capturing a graph does not run now; it runs (if ever) as a graph node.
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  driver().streamIsCapturing(streamOfDriverLaunch(cbid, cb->functionParams), &capture);
  const std::string key = keyOfDriverLaunch(cbid, cb->functionParams, cb->symbolName).text();
  uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(state->launchMutex);
    LaunchCount& n = state->launches[key];
    if (capture != CU_STREAM_CAPTURE_STATUS_NONE) {
      n.captured++;
      return;
    }
    seen = ++n.seen;
  }
  if (state->mode != "replay") return;
  const auto t = state->targets.find(key);
  if (t == state->targets.end() || static_cast<int64_t>(seen) != t->second.launchIndex || !claim(t->second)) return;
  replayAt(cbid, cb, key, t->second.launchIndex);
}

void CUPTIAPI onCallback(void* /*userdata*/, CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void* data) {
  if (ownCalls > 0 || !state) return;
  const auto* cb = static_cast<const CUpti_CallbackData*>(data);
  try {
    if (domain == CUPTI_CB_DOMAIN_DRIVER_API) {
      if (isDriverLaunch(cbid)) {
        if (cb->callbackSite == CUPTI_API_ENTER) onDriverLaunch(cbid, cb);
        return;
      }
      if (cb->callbackSite == CUPTI_API_EXIT && *static_cast<const CUresult*>(cb->functionReturnValue) == CUDA_SUCCESS)
        trackDriverMemory(cbid, cb->functionParams, state->allocations);
      return;
    }
    if (domain != CUPTI_CB_DOMAIN_RUNTIME_API) return;
    switch (cbid) {
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000:
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000:
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060:
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060:
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000:
      case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000:
#if CUDA_VERSION >= 13000
      case CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000:
      case CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_ptsz_v13000:
#endif
        // Launches are handled in the driver calls the runtime makes; a runtime launch with none inside is counted
        // so the report can say why its kernel was not replayed.
        if (cb->callbackSite == CUPTI_API_ENTER) {
          if (runtimeLaunchDepth++ == 0) driverLaunchInside = false;
        } else if (--runtimeLaunchDepth == 0 && !driverLaunchInside &&
                   *static_cast<const cudaError_t*>(cb->functionReturnValue) == cudaSuccess) {
          std::lock_guard<std::mutex> lock(state->launchMutex);
          state->runtimeOnly[cb->symbolName ? cb->symbolName : "(unnamed)"]++;
        }
        return;
      default:
        if (cb->callbackSite == CUPTI_API_EXIT &&
            *static_cast<const cudaError_t*>(cb->functionReturnValue) == cudaSuccess)
          trackRuntimeMemory(cbid, cb->functionParams, state->allocations);
    }
  } catch (const std::exception& e) {
    // Nothing may escape into the driver: the program goes on, the failure is on record.
    error("INJECTION_ERROR", e.what());
  }
}

void enable(CUpti_SubscriberHandle subscriber, CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
  const CUptiResult rc = cupti().enableCallback(1, subscriber, domain, cbid);
  if (rc != CUPTI_SUCCESS)
    error("CUPTI_CALLBACK", "cuptiEnableCallback(" + std::to_string(cbid) + ") returned " + cupti().errorName(rc));
}

bool start() {
  const std::string driverProblem = driver().load();
  if (!driverProblem.empty()) {
    error("CUDA_DRIVER", driverProblem);
    return false;
  }
  const std::string cuptiProblem = cupti().load();
  if (!cuptiProblem.empty()) {
    error("CUPTI_UNAVAILABLE", cuptiProblem);
    return false;
  }
  uint32_t version = 0;
  cupti().getVersion(&version);
  CUpti_SubscriberHandle subscriber = nullptr;
  const CUptiResult rc = cupti().subscribe(&subscriber, onCallback, nullptr);
  if (rc != CUPTI_SUCCESS) {
    error("CUPTI_SUBSCRIBE",
          "cuptiSubscribe returned " + cupti().errorName(rc) + " with " + cupti().path + " (CUPTI version " +
              std::to_string(version) + ")" +
              (rc == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED
                   ? ": another profiler (Nsight, torch.profiler) holds CUPTI in this program; run without it"
                   : ""));
    return false;
  }
  for (CUpti_CallbackId id :
       {CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
        CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz,
        CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel, CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz})
    enable(subscriber, CUPTI_CB_DOMAIN_DRIVER_API, id);
  for (CUpti_CallbackId id :
       {CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000,
        CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060,
        CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000,
        CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000})
    enable(subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, id);
#if CUDA_VERSION >= 13000
  enable(subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000);
  enable(subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_ptsz_v13000);
#endif
  size_t n = 0;
  const CUpti_CallbackId* ids = driverMemoryCallbacks(n);
  for (size_t i = 0; i < n; i++) enable(subscriber, CUPTI_CB_DOMAIN_DRIVER_API, ids[i]);
  ids = runtimeMemoryCallbacks(n);
  for (size_t i = 0; i < n; i++) enable(subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, ids[i]);

  if (state->mode == "trace") {
    const uint64_t maxIntervals = std::strtoull(envOr("ETOK_PROFILE_MAX_INTERVALS", "4000000").c_str(), nullptr, 10);
    const std::string problem = state->trace.start(path("intervals-" + std::to_string(state->pid) + ".bin"),
                                                   maxIntervals);
    if (!problem.empty()) {
      error("CUPTI_ACTIVITY", problem);
      return false;
    }
    state->tracing = true;
  } else {
    state->settings.meterId = envOr("ETOK_PROFILE_METER", "nvml:0");
    state->settings.boardUuid = envOr("ETOK_PROFILE_BOARD_UUID", "");
    state->settings.memoryLimitBytes =
        std::strtoull(envOr("ETOK_PROFILE_MEMORY_LIMIT", std::to_string(16ull << 30)).c_str(), nullptr, 10);
    state->settings.energyBudgetS = std::atof(envOr("ETOK_PROFILE_BUDGET_S", "8").c_str());
    state->replayer = std::make_unique<Replayer>(state->settings, state->allocations);
    readTargets(envOr("ETOK_PROFILE_TARGETS", path("targets.tsv")));
  }
  event("start", {{"mode", Value::string(state->mode)},
                  {"cupti", Value::string(cupti().path)},
                  {"cuptiVersion", Value::number(version)},
                  {"targets", Value::number(static_cast<double>(state->targets.size()))}});
  state->flusher = std::thread(flushLoop);
  std::atexit(atExit);
  return true;
}

}  // namespace

}  // namespace etok::profile

/** Called by the CUDA driver during cuInit when CUDA_INJECTION64_PATH names this library. Returns 1 whatever
    happens: a profiler that fails must not fail the program (the failure is written for the CLI). */
extern "C" __attribute__((visibility("default"))) int InitializeInjection(void) {
  using namespace etok::profile;
  if (state) return 1;
  const char* dir = std::getenv("ETOK_PROFILE_DIR");
  if (!dir || !*dir) return 1;  // loaded outside `etok profile`: stay out of the way
  state = new State();
  state->dir = dir;
  state->mode = envOr("ETOK_PROFILE_MODE", "trace");
  state->pid = static_cast<int>(::getpid());
  state->events = std::fopen(path("events-" + std::to_string(state->pid) + ".jsonl").c_str(), "a");
  try {
    if (!start()) writeSummary(false);
  } catch (const std::exception& e) {
    error("INJECTION_ERROR", e.what());
  }
  return 1;
}
