// etok-runner: the harness without Node, for GPU machines that have a compiler but no Node. It measures one
// configuration and prints a JSON object with the raw samples and windows (analysed by `etok` elsewhere).
//   etok-runner --device cuda:0 --meter nvml:0 --variant dense --phase decode --batch 8 --kv-len 8192
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "devices/devices.h"
#include "etok/kernels/errors.h"
#include "harness/harness.h"

using namespace etok;

namespace {

std::string jsonString(const std::string& s) {
  std::ostringstream o;
  o << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o << '\\' << c;
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      o << buf;
    } else o << c;
  }
  o << '"';
  return o.str();
}

int usage(const std::string& why) {
  std::cerr
      << "etok-runner: " << why << "\n"
      << "usage: etok-runner [--device cpu|cuda:N] [--meter model|rapl|nvml:N] [--variant V] [--phase decode|prefill]\n"
      << "                   [--dtype f32|bf16|f16] [--batch N] [--heads N] [--kv-heads N] [--head-dim N]\n"
      << "                   [--q-len N] [--kv-len N] [--profile uniform|peaked] [--seed N] [--devices]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  harness::MeasurePlan plan;
  std::string variant = "dense", phase = "decode", dtype = "f32";
  bool listDevices = false;
  try {
    for (int i = 1; i < argc; i++) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument("option " + a + " needs a value");
        return argv[++i];
      };
      auto nextInt = [&]() -> int64_t {
        const std::string v = next();
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used != v.size()) throw std::invalid_argument("option " + a + " needs an integer, got '" + v + "'");
        return n;
      };
      if (a == "--device") plan.device = next();
      else if (a == "--meter") plan.meter = next();
      else if (a == "--variant") variant = next();
      else if (a == "--phase") phase = next();
      else if (a == "--dtype") dtype = next();
      else if (a == "--batch") plan.problem.shape.batch = nextInt();
      else if (a == "--heads") plan.problem.shape.heads = nextInt();
      else if (a == "--kv-heads") plan.problem.shape.kvHeads = nextInt();
      else if (a == "--head-dim") plan.problem.shape.headDim = nextInt();
      else if (a == "--q-len") plan.problem.shape.qLen = nextInt();
      else if (a == "--kv-len") plan.problem.shape.kvLen = nextInt();
      else if (a == "--profile") plan.profile = next();
      else if (a == "--seed") plan.seed = static_cast<uint64_t>(nextInt());
      else if (a == "--devices") listDevices = true;
      else return usage("unknown option '" + a + "'");
    }
    if (listDevices) {
      const auto caps = devices::capabilities();
      std::cout << "{\"build\":{\"cuda\":" << (caps.cuda ? "true" : "false")
                << ",\"cudaVersion\":" << jsonString(caps.cudaVersion)
                << "},\"cudaReason\":" << jsonString(caps.cudaRuntimeReason)
                << ",\"devices\":[{\"id\":\"cpu\",\"name\":" << jsonString(devices::cpuInfo().model) << "}";
      for (const auto& d : devices::cudaDevices())
        std::cout << ",{\"id\":\"cuda:" << d.index << "\",\"name\":" << jsonString(d.name) << "}";
      std::cout << "]}\n";
      return 0;
    }
    plan.problem.variant = kernels::parseVariant(variant);
    plan.problem.phase = kernels::parsePhase(phase);
    plan.problem.dtype = kernels::parseDtype(dtype);
    if (plan.problem.phase == kernels::Phase::Decode) plan.problem.shape.qLen = 1;
    std::atomic<bool> cancel{false};
    const auto r = harness::measure(plan, nullptr, cancel);
    if (r.failure) {
      std::cerr << "etok-runner: " << r.failure->code << ": " << r.failure->message << "\n";
      return 1;
    }
    std::cout.precision(17);
    std::cout << "{\"device\":" << jsonString(plan.device)
              << ",\"variant\":" << jsonString(kernels::formatVariant(plan.problem.variant))
              << ",\"phase\":" << jsonString(phase) << ",\"meter\":{\"id\":" << jsonString(r.meter.id)
              << ",\"kind\":" << jsonString(r.meter.kind) << ",\"measured\":" << (r.meter.measured ? "true" : "false")
              << ",\"method\":" << jsonString(r.meter.method) << ",\"boundary\":" << jsonString(r.meter.boundary)
              << ",\"updatePeriodMs\":" << r.meter.updatePeriodMs << ",\"idleW\":" << r.idleW << "},\"samplesS\":[";
    for (size_t i = 0; i < r.samplesS.size(); i++) std::cout << (i ? "," : "") << r.samplesS[i];
    std::cout << "],\"windows\":[";
    for (size_t i = 0; i < r.windows.size(); i++) {
      const auto& w = r.windows[i];
      std::cout << (i ? "," : "") << "{\"t0Ns\":" << w.t0Ns << ",\"t1Ns\":" << w.t1Ns << ",\"joules\":" << w.joules
                << ",\"calls\":" << w.calls << "}";
    }
    std::cout << "],\"relErrorVsDense\":" << r.relErrorVsDense << ",\"relErrorVsExact\":" << r.relErrorVsExact
              << ",\"qualityNote\":" << jsonString(r.qualityNote) << ",\"stopReason\":" << jsonString(r.stopReason)
              << "}\n";
    return 0;
  } catch (const kernels::BadShape& e) {
    return usage(e.what());
  } catch (const std::invalid_argument& e) {
    return usage(e.what());
  } catch (const CodedError& e) {
    std::cerr << "etok-runner: " << e.code() << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "etok-runner: " << e.what() << "\n";
    return 1;
  }
}
