// `rapl`: Linux powercap package domains (intel-rapl:N, and their dram subzone intel-rapl:N:M where present; AMD
// Zen exposes the same zones) under ETOK_POWERCAP_ROOT (default /sys/class/powercap), summed over packages.
// energy_uj wraps at max_energy_range_uj (minutes at full power on Intel, much sooner on some parts), and a wrap
// can only be unwrapped if no second wrap happened between two reads. So a tracker thread reads every domain at
// least every ETOK_RAPL_TRACK_MS (default: a quarter of the fastest wrap time at 1 kW, at most 1 s), which keeps
// long windows (and `etok measure` of long commands) right. The MMIO duplicate zones (intel-rapl-mmio) are
// skipped so a package is never counted twice. Since Linux 5.10 energy_uj is readable by root only
// (CVE-2020-8694); the error says how to grant access. A decrease is taken as a wrap only when the unwrapped step
// is under half the range (the tracker reads every quarter of the fastest wrap at 1 kW, so a real wrap's step is
// far smaller); a larger one is a counter that went backwards (reset, firmware update, a rewritten file) and
// throws RAPL_COUNTER_BACKWARDS instead of adding most of a range of energy that was never spent.
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meters/edges.h"
#include "meters/meter.h"

namespace etok::meters {

namespace {

std::string powercapRoot() {
  const char* over = std::getenv("ETOK_POWERCAP_ROOT");
  return over && *over ? over : "/sys/class/powercap";
}

/** Reads the first line of a small sysfs file; errno-style error in `err` when it cannot. */
bool readLine(const std::string& path, std::string& out, int& err) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    err = errno;
    return false;
  }
  char buffer[128];
  const bool ok = std::fgets(buffer, sizeof buffer, f) != nullptr;
  err = ok ? 0 : (std::ferror(f) ? errno : EIO);
  std::fclose(f);
  if (!ok) return false;
  out = buffer;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return true;
}

struct Domain {
  std::string zone;  // "intel-rapl:0"
  std::string path;  // directory of the zone
  std::string name;  // "package-0", "dram"
  unsigned long long maxRangeUj = 0;
  unsigned long long lastUj = 0;
  double accumulatedJ = 0;
  int wraps = 0;
  long long reads = 0;
};

const char* kFix =
    "run as root, or grant read access to the counters, e.g. with a udev rule "
    "(/etc/udev/rules.d/99-etok-rapl.rules: SUBSYSTEM==\"powercap\", ACTION==\"add\", "
    "RUN+=\"/bin/chmod a+r /sys%p/energy_uj\") or once with "
    "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj`";

MeterError readError(const Domain& d, int err) {
  if (err == EACCES || err == EPERM)
    return MeterError("RAPL_PERMISSION", "cannot read " + d.path +
                                             "/energy_uj: permission denied (since Linux 5.10 "
                                             "RAPL counters are root-only); " +
                                             kFix);
  return MeterError("RAPL_READ", "cannot read " + d.path + "/energy_uj: " + std::strerror(err));
}

bool readEnergy(const Domain& d, unsigned long long& uj, int& err) {
  std::string line;
  if (!readLine(d.path + "/energy_uj", line, err)) return false;
  char* end = nullptr;
  uj = std::strtoull(line.c_str(), &end, 10);
  if (end == line.c_str()) {
    err = EIO;
    return false;
  }
  return true;
}

/** Counts the ':' in a zone name: 1 for a package zone (intel-rapl:0), 2 for a subzone (intel-rapl:0:1). */
size_t depth(const std::string& zone) { return static_cast<size_t>(std::count(zone.begin(), zone.end(), ':')); }

std::vector<Domain> discover(std::string& reason) {
  std::vector<Domain> domains;
  const std::string root = powercapRoot();
  DIR* dir = opendir(root.c_str());
  if (!dir) {
    reason = "no powercap tree at " + root + " (no RAPL on this machine or kernel)";
    return domains;
  }
  std::vector<std::string> msr, other;
  while (dirent* e = readdir(dir)) {
    const std::string n = e->d_name;
    if (n.rfind("intel-rapl:", 0) == 0) msr.push_back(n);
    else if (n.find("rapl:") != std::string::npos && n.find("mmio") == std::string::npos) other.push_back(n);
  }
  closedir(dir);
  std::vector<std::string> zones = msr.empty() ? other : msr;
  std::sort(zones.begin(), zones.end());
  for (const auto& z : zones) {
    std::string name, range;
    int err = 0;
    const std::string path = root + "/" + z;
    if (!readLine(path + "/name", name, err)) continue;
    const bool package = depth(z) == 1 && name.rfind("package", 0) == 0;
    const bool dram = depth(z) == 2 && name == "dram";
    if (!package && !dram) continue;
    Domain d;
    d.zone = z;
    d.path = path;
    d.name = name;
    if (readLine(path + "/max_energy_range_uj", range, err)) d.maxRangeUj = std::strtoull(range.c_str(), nullptr, 10);
    domains.push_back(d);
  }
  if (domains.empty()) reason = "no RAPL package domain under " + root;
  return domains;
}

double envMs(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtod(v, nullptr) : 0.0;
}

class RaplMeter final : public Meter {
 public:
  explicit RaplMeter(std::vector<Domain> domains) : domains_(std::move(domains)) {}

  ~RaplMeter() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (tracker_.joinable()) tracker_.join();
  }

  void start() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : domains_) {
        int err = 0;
        if (!readEnergy(d, d.lastUj, err)) throw readError(d, err);
        if (d.maxRangeUj == 0)
          throw MeterError("RAPL_READ", d.path + "/max_energy_range_uj is missing or zero; cannot unwrap energy_uj");
      }
    }
    // Tracker period: a quarter of the fastest wrap at 1 kW (far above any package), clamped to [1 ms, 1 s].
    double minWrapS = 1e9;
    for (const auto& d : domains_) minWrapS = std::min(minWrapS, static_cast<double>(d.maxRangeUj) * 1e-6 / 1000.0);
    trackMs_ = envMs("ETOK_RAPL_TRACK_MS");
    if (trackMs_ <= 0) trackMs_ = std::clamp(minWrapS / 4 * 1e3, 1.0, 1000.0);
    measurePeriod();
    tracker_ = std::thread([this] { trackLoop(); });
  }

  MeterDescription describe() const override {
    MeterDescription d;
    d.id = "rapl";
    d.kind = "rapl";
    d.measured = true;
    d.method = "energy-counter";
    bool dram = false;
    std::string names;
    for (const auto& dom : domains_) {
      names += (names.empty() ? "" : ", ") + dom.name + " (" + dom.zone + ")";
      dram = dram || dom.name == "dram";
    }
    d.boundary = dram ? "package+dram" : "package";
    d.updatePeriodMs = periodMs_;
    d.source = powercapRoot() + "/intel-rapl:*/energy_uj";
    d.note = "Linux powercap energy_uj, summed over " + names + "; " + periodNote_ + "; wrap-around tracked every " +
             std::to_string(static_cast<int>(trackMs_)) + " ms";
    return d;
  }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    return readLocked();
  }

  DeviceStatus status() override {
    DeviceStatus st;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& d : domains_)
      st.domains.push_back(d.name + " (" + d.zone + ", wraps at " + std::to_string(d.maxRangeUj / 1000000) + " J, " +
                           std::to_string(d.wraps) + " wrap(s) seen, read " + std::to_string(d.reads) + " times)");
    st.name = "RAPL " +
              std::to_string(
                  std::count_if(domains_.begin(), domains_.end(), [](const Domain& d) { return d.name != "dram"; })) +
              " package(s)";
    st.unavailable.push_back("clocks, temperature, limits: not exposed by powercap energy counters");
    return st;
  }

 private:
  EnergyReading readLocked() {
    if (!trackerError_.empty()) throw MeterError(trackerErrorCode_, trackerError_);
    double total = 0;
    for (auto& d : domains_) {
      unsigned long long uj = 0;
      int err = 0;
      if (!readEnergy(d, uj, err)) throw readError(d, err);
      unsigned long long delta;
      if (uj >= d.lastUj) {
        delta = uj - d.lastUj;
      } else {  // wrapped once since the last read (the tracker guarantees not twice)
        delta = d.maxRangeUj - d.lastUj + uj;
        if (delta > d.maxRangeUj / 2)
          throw MeterError("RAPL_COUNTER_BACKWARDS",
                           "rapl: " + d.path + "/energy_uj went backwards from " + std::to_string(d.lastUj) + " to " +
                               std::to_string(uj) + " uJ (range " + std::to_string(d.maxRangeUj) +
                               " uJ): not a wrap; the counter was reset, and the energy of this window is unknown");
        d.wraps++;
      }
      d.accumulatedJ += static_cast<double>(delta) * 1e-6;
      d.lastUj = uj;
      d.reads++;
      total += d.accumulatedJ;
    }
    return {nowNs(), total};
  }

  /** RAPL updates about every millisecond; measure it when the counters move, else say it is assumed. */
  void measurePeriod() {
    try {
      const PeriodEstimate est = measureUpdatePeriod(
          [this] {
            std::lock_guard<std::mutex> lock(mu_);
            const EnergyReading r = readLocked();
            return RawSample{r.tNs, r.joules};
          },
          "rapl", 5, 60000000, 20000);
      periodMs_ = est.medianMs;
      periodNote_ = "counters step every " + std::to_string(est.medianMs).substr(0, 5) + " ms (measured at open)";
    } catch (const MeterError& e) {
      if (e.code() != "METER_STALLED") throw;
      periodMs_ = 1.0;
      periodNote_ = "counters did not move during 60 ms at open; update period assumed 1 ms";
    }
  }

  void trackLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::microseconds(static_cast<int64_t>(trackMs_ * 1e3)), [this] { return stop_; });
      if (stop_) break;
      try {
        readLocked();
      } catch (const MeterError& e) {
        trackerErrorCode_ = e.code();
        trackerError_ = std::string(e.what()) + " (seen by the wrap tracker)";
        break;
      }
    }
  }

  mutable std::mutex mu_;
  std::vector<Domain> domains_;
  double trackMs_ = 1000;
  double periodMs_ = 1.0;
  std::string periodNote_;
  std::string trackerErrorCode_, trackerError_;
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread tracker_;
};

}  // namespace

MeterAvailability raplAvailability() {
  std::string reason;
  auto domains = discover(reason);
  if (domains.empty()) return {"rapl", "rapl", false, reason};
  for (const auto& d : domains) {
    unsigned long long uj;
    int err = 0;
    if (!readEnergy(d, uj, err)) return {"rapl", "rapl", false, readError(d, err).what()};
  }
  return {"rapl", "rapl", true, ""};
}

std::unique_ptr<Meter> openRaplMeter() {
  std::string reason;
  auto domains = discover(reason);
  if (domains.empty()) throw MeterError("RAPL_UNAVAILABLE", "meter rapl is unavailable: " + reason);
  auto meter = std::make_unique<RaplMeter>(std::move(domains));
  meter->start();  // throws RAPL_PERMISSION with the fix when unreadable
  return meter;
}

}  // namespace etok::meters
