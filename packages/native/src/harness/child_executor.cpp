#include "harness/child_executor.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "devices/devices.h"
#include "meters/meter.h"

namespace etok::harness {

namespace {

std::string makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/etok-executor-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data()))
    throw ExecutorError("EXECUTOR_START", "cannot create a temporary directory for the executor (" + pattern +
                                              "): " + std::strerror(errno));
  return buf.data();
}

void removeTree(const std::string& dir) {
  if (dir.empty()) return;
  // Only files this executor wrote live here (no subdirectories).
  for (const char* name : {"control", "output.f32"}) ::unlink((dir + "/" + name).c_str());
  for (int i = 0; i < 16; i++) ::unlink((dir + "/input-" + std::to_string(i) + ".f32").c_str());
  ::rmdir(dir.c_str());
}

void writeFloats(const std::string& path, const std::vector<float>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) throw ExecutorError("EXECUTOR_START", "cannot write the executor's inputs to " + path + " (disk full?)");
}

std::string problemJson(const kernels::Problem& p, const std::string& device) {
  const auto& s = p.shape;
  const auto& q = p.params;
  std::string o = "{\"variant\":" + json::quote(kernels::formatVariant(p.variant)) +
                  ",\"phase\":" + json::quote(kernels::phaseName(p.phase)) +
                  ",\"dtype\":" + json::quote(kernels::dtypeName(p.dtype)) + ",\"device\":" + json::quote(device);
  o += ",\"shape\":{\"batch\":" + std::to_string(s.batch) + ",\"heads\":" + std::to_string(s.heads) +
       ",\"kvHeads\":" + std::to_string(s.kvHeads) + ",\"headDim\":" + std::to_string(s.headDim) +
       ",\"qLen\":" + std::to_string(s.qLen) + ",\"kvLen\":" + std::to_string(s.kvLen) +
       ",\"rank\":" + std::to_string(s.rank) + ",\"ropeDim\":" + std::to_string(s.ropeDim) + "}";
  o += ",\"params\":{\"scale\":" + json::write(json::Value::number(kernels::effectiveScale(p))) +
       ",\"blockSize\":" + std::to_string(q.blockSize) + ",\"topK\":" + std::to_string(q.topK) +
       ",\"window\":" + std::to_string(q.window) + "}";
  const auto out = kernels::outputSpec(p);
  o += ",\"output\":{\"name\":" + json::quote(out.name) + ",\"dims\":[";
  for (size_t i = 0; i < out.dims.size(); i++) o += (i ? "," : "") + std::to_string(out.dims[i]);
  return o + "]}}";
}

}  // namespace

ChildExecutor::ChildExecutor(const ChildSpec& spec, const kernels::Problem& problem, const std::string& device,
                             const kernels::HostTensors* inputs, const std::atomic<bool>& cancel)
    : spec_(spec), problem_(problem), cancel_(cancel), dir_(makeTempDir()) {
  try {
    // The stop word of runs: a shared page the child maps and reads between calls.
    const std::string controlPath = dir_ + "/control";
    controlFd_ = ::open(controlPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (controlFd_ < 0 || ftruncate(controlFd_, 4096) != 0)
      throw ExecutorError("EXECUTOR_START", "cannot create the executor's control file " + controlPath);
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, controlFd_, 0);
    if (page == MAP_FAILED) throw ExecutorError("EXECUTOR_START", "cannot map the executor's control file");
    control_ = static_cast<volatile uint64_t*>(page);
    *control_ = 0;

    std::string inputsJson = "null";
    if (inputs && spec.sendInputs) {
      inputsJson = "[";
      int i = 0;
      for (const auto& t : kernels::inputSpecs(problem)) {
        const std::string path = dir_ + "/input-" + std::to_string(i) + ".f32";
        writeFloats(path, inputs->at(t.name));
        inputsJson += std::string(i ? "," : "") + "{\"name\":" + json::quote(t.name) +
                      ",\"file\":" + json::quote(path) + ",\"dims\":[";
        for (size_t d = 0; d < t.dims.size(); d++) inputsJson += (d ? "," : "") + std::to_string(t.dims[d]);
        inputsJson += "]}";
        i++;
      }
      inputsJson += "]";
    }

    process_ = std::make_unique<ChildProcess>(spec.command, spec.env);
    const json::Value hello = reply(spec.setupTimeoutS, "start");
    if (hello.stringOr("protocol", "") != "etok-executor/1")
      throw ExecutorError("EXECUTOR_PROTOCOL", "the executor did not announce protocol etok-executor/1");
    const json::Value setup = request("{\"op\":\"setup\",\"payload\":" + spec.payloadJson +
                                          ",\"problem\":" + problemJson(problem, device) + ",\"inputs\":" + inputsJson +
                                          ",\"control\":" + json::quote(controlPath) + "}",
                                      spec.setupTimeoutS, "setup");
    const json::Value& info = setup["info"];
    info_.kind = spec.kind;
    info_.name = info.stringOr("name", "");
    info_.description = info.stringOr("description", "");
    info_.version = info.stringOr("version", "");
    info_.framework = info.stringOr("framework", "");
    if (info.has("details")) info_.detailsJson = json::write(info["details"]);
    hasOutput_ = setup.boolOr("hasOutput", false);
    // The child has read its inputs: they need not stay on disk for the run.
    for (int i = 0; i < 16; i++) ::unlink((dir_ + "/input-" + std::to_string(i) + ".f32").c_str());
  } catch (...) {
    if (process_) process_->kill();
    if (control_) munmap(const_cast<uint64_t*>(control_), 4096);
    if (controlFd_ >= 0) ::close(controlFd_);
    removeTree(dir_);
    throw;
  }
}

ChildExecutor::~ChildExecutor() {
  if (process_) process_->finish(2.0);
  if (control_) munmap(const_cast<uint64_t*>(control_), 4096);
  if (controlFd_ >= 0) ::close(controlFd_);
  removeTree(dir_);
}

json::Value ChildExecutor::reply(double timeoutS, const std::string& what) {
  const std::string line = process_->readLine(timeoutS, what, &cancel_);
  json::Value v;
  try {
    v = json::parse(line);
  } catch (const std::exception& e) {
    process_->kill();
    throw ExecutorError("EXECUTOR_PROTOCOL", "the executor wrote a line that is not protocol JSON during its " + what +
                                                 " (" + e.what() + "): " + line.substr(0, 200));
  }
  if (!v.isObject())
    throw ExecutorError("EXECUTOR_PROTOCOL", "the executor's reply is not a JSON object: " + line.substr(0, 200));
  if (!v.boolOr("ok", false)) {
    const json::Value& e = v["error"];
    const std::string type = e.stringOr("type", "");
    const std::string message = e.stringOr("message", "unknown failure");
    std::string oneLine = type.empty() ? message : type + ": " + message;
    const auto nl = oneLine.find('\n');
    if (nl != std::string::npos) oneLine = oneLine.substr(0, nl);
    throw ExecutorError(e.stringOr("code", "EXECUTOR_EXCEPTION"), oneLine, e.stringOr("traceback", ""));
  }
  return v;
}

json::Value ChildExecutor::request(const std::string& line, double timeoutS, const std::string& what) {
  process_->writeLine(line);
  return reply(timeoutS, what);
}

std::optional<std::vector<float>> ChildExecutor::outputOfOneCall() {
  if (!hasOutput_) {
    noOutputReason_ = "the executor gives no output";
    return std::nullopt;
  }
  const std::string path = dir_ + "/output.f32";
  const json::Value r = request("{\"op\":\"output\",\"file\":" + json::quote(path) + "}", spec_.callTimeoutS,
                                "output call");
  if (!r.boolOr("written", false)) {
    noOutputReason_ = r.stringOr("reason", "the callable returned no output");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto bytes = static_cast<int64_t>(in.tellg());
  const int64_t expected = kernels::outputSpec(problem_).elements();
  if (bytes != expected * static_cast<int64_t>(sizeof(float)))
    throw ExecutorError("EXECUTOR_OUTPUT", "the output has " + std::to_string(std::max<int64_t>(bytes, 0) / 4) +
                                               " values; the problem's output has " + std::to_string(expected));
  std::vector<float> out(static_cast<size_t>(expected));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), bytes);
  ::unlink(path.c_str());
  return out;
}

std::vector<double> ChildExecutor::timedCalls(int n, bool cold) {
  const double timeoutS = spec_.callTimeoutS + 2.0 * n * callEstimateS_;
  const json::Value r = request("{\"op\":\"time\",\"n\":" + std::to_string(n) +
                                    ",\"cold\":" + (cold ? "true" : "false") + "}",
                                timeoutS, n == 1 ? "call" : std::to_string(n) + " calls");
  std::vector<double> out;
  for (const auto& s : r["samples"].items())
    if (s.isNumber()) out.push_back(s.asNumber());
  if (static_cast<int>(out.size()) != n)
    throw ExecutorError("EXECUTOR_PROTOCOL",
                        "asked for " + std::to_string(n) + " timed calls, got " + std::to_string(out.size()));
  if (!out.empty()) callEstimateS_ = std::max(callEstimateS_, out.back());
  return out;
}

CallSpan ChildExecutor::runWhile(const std::function<bool(double calls)>& keepGoing, int64_t pollNs) {
  const uint64_t seq = ++seq_;
  process_->writeLine("{\"op\":\"run\",\"seq\":" + std::to_string(seq) + "}");
  // The child runs on its own; the engine watches the meter. A reply before the stop is a failure (or a crash).
  while (keepGoing(-1.0)) {
    if (process_->replyPending()) break;
    if (pollNs > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(pollNs));
  }
  __atomic_store_n(control_, seq, __ATOMIC_SEQ_CST);
  const json::Value r = reply(spec_.callTimeoutS + 2.0 * callEstimateS_, "run (after the stop signal)");
  CallSpan span;
  span.calls = r.numberOr("calls", 0);
  span.t0Ns = static_cast<int64_t>(r.numberOr("t0Ns", 0));
  span.t1Ns = static_cast<int64_t>(r.numberOr("t1Ns", 0));
  if (span.calls > 0 && span.t1Ns > span.t0Ns)
    callEstimateS_ = std::max(callEstimateS_, static_cast<double>(span.t1Ns - span.t0Ns) * 1e-9 / span.calls);
  return span;
}

CallSpan ChildExecutor::runSynchronisedWhile(const std::function<bool(double calls)>& /*keepGoing*/) {
  throw std::logic_error("runSynchronisedWhile is for in-process executors");
}

}  // namespace etok::harness
