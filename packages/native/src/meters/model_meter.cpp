// The `model` meter: energy = idle W × elapsed + busy W × utilization × elapsed. Nothing is measured, so
// everything downstream labels it *modeled*. On the CPU, utilization is the CPU time (all threads) of this process
// and of the executor processes it runs (Python, ONNX Runtime) over cores × elapsed, so other programs on the
// machine neither add to nor disturb the figure (an attribution choice, stated in the meter's note); for
// accelerators it is the share of time the harness marked the kernel as running.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <time.h>
#include <unistd.h>

#include "meters/meter.h"

namespace etok::meters {

namespace {

struct PowerEntry {
  const char* nameContains;
  double idleW;
  double busyW;
};

// Coarse public figures (board or package power at idle and at full load); a model, not a measurement.
constexpr PowerEntry kTable[] = {
    {"H200", 75.0, 625.0},  // SXM, 700 W limit
    {"H100", 70.0, 630.0},  // SXM, 700 W limit
    {"A100", 55.0, 345.0},  // SXM4 400 W limit
    {"L40S", 35.0, 315.0}, {"EPYC", 60.0, 180.0}, {"Xeon", 50.0, 150.0},
};

/** Busy seconds of every CPU since boot (/proc/stat): for commands etok wraps, whose CPU time is not etok's. */
double systemBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  if (!in || cpu != "cpu") return 0;
  static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / hz;
}

double processCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/** CPU seconds (user + system) of another process from /proc/PID/stat; negative once it is gone. */
double childCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces; fields follow its closing parenthesis
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; i++) fields >> skip;  // state … cmajflt (fields 3-13)
  long long utime = 0, stime = 0;
  fields >> utime >> stime;
  if (!fields) return -1;
  static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(utime + stime) / hz;
}

class ModelMeter final : public Meter {
 public:
  explicit ModelMeter(PowerModel model) : model_(std::move(model)) {
    cores_ = std::max(1u, std::thread::hardware_concurrency());
    t0_ = nowNs();
    busy0S_ = busySeconds();
  }

  MeterDescription describe() const override {
    MeterDescription d;
    d.id = "model";
    d.kind = "model";
    d.measured = false;
    d.method = "model";
    d.boundary = "modeled device power (" + model_.source + ")";
    d.source = model_.utilization == "system-cpu"    ? "model × /proc/stat CPU busy time (all processes)"
               : model_.utilization == "process-cpu" ? "model × the CPU time of etok and its executor processes"
                                                     : "model × harness busy marks";
    // Process CPU time and the harness's marks are read on demand: there is no update period to wait for.
    d.updatePeriodMs = 0.0;
    std::ostringstream note;
    note << "modeled: " << model_.idleW << " W idle + " << model_.busyW << " W × utilization ("
         << (model_.utilization == "process-cpu"
                 ? "CPU time of this process and its executor processes over cores × elapsed"
             : model_.utilization == "system-cpu" ? "all processes' CPU busy time from /proc/stat over cores × elapsed"
                                                  : "share of time the kernel ran")
         << "), coefficients from " << model_.source;
    d.note = note.str();
    return d;
  }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t t = nowNs();
    const double elapsedS = static_cast<double>(t - t0_) * 1e-9;
    double busyShareS;  // seconds of full-device utilization since open
    if (model_.utilization == "process-cpu" || model_.utilization == "system-cpu") {
      busyShareS = (busySeconds() - busy0S_) / cores_;
    } else {
      busyShareS = busyS_ + (busy_ ? static_cast<double>(t - busySinceNs_) * 1e-9 : 0.0);
    }
    return {t, model_.idleW * elapsedS + model_.busyW * std::max(0.0, busyShareS)};
  }

  void addProcess(int pid) override {
    std::lock_guard<std::mutex> lock(mu_);
    const double now = childCpuSeconds(pid);
    children_.push_back({pid, std::max(0.0, now), std::max(0.0, now)});
  }

  void setBusy(bool busy) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t t = nowNs();
    if (busy_ && !busy) busyS_ += static_cast<double>(t - busySinceNs_) * 1e-9;
    if (!busy_ && busy) busySinceNs_ = t;
    busy_ = busy;
  }

 private:
  /** This process's CPU time plus what its executor children used since they were added (the last value seen is
      kept once a child has exited). */
  double busySeconds() {
    if (model_.utilization == "system-cpu") return systemBusySeconds();
    double total = processCpuSeconds();
    for (auto& c : children_) {
      const double now = childCpuSeconds(c.pid);
      if (now >= 0) c.lastS = now;
      total += c.lastS - c.startS;
    }
    return total;
  }

  struct Child {
    int pid;
    double startS, lastS;
  };
  std::vector<Child> children_;

  PowerModel model_;
  std::mutex mu_;
  double cores_;
  int64_t t0_, busySinceNs_ = 0;
  double busy0S_ = 0, busyS_ = 0;
  bool busy_ = false;
};

}  // namespace

PowerModel defaultPowerModel(const std::string& deviceId, const std::string& deviceName) {
  const bool cpu = deviceId == "cpu";
  for (const auto& e : kTable) {
    if (deviceName.find(e.nameContains) != std::string::npos)
      return {std::string("table:") + e.nameContains, e.idleW, e.busyW, cpu ? "process-cpu" : "harness"};
  }
  if (cpu) {
    const double cores = std::max(1u, std::thread::hardware_concurrency());
    return {"generic CPU: 10 W + 4 W a core", 10.0, 4.0 * cores, "process-cpu"};
  }
  return {"generic GPU: 50 W idle, 300 W busy", 50.0, 250.0, "harness"};
}

std::unique_ptr<Meter> openModelMeter(const PowerModel& model) { return std::make_unique<ModelMeter>(model); }

}  // namespace etok::meters
