// `rapl`: Linux powercap package domains (intel-rapl:N, and their dram subdomain where present) under
// ETOK_POWERCAP_ROOT (default /sys/class/powercap). energy_uj wraps at max_energy_range_uj; every read
// unwraps against the previous one, so reads must come at least once a wrap period (minutes at full power).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "meters/meter.h"

namespace etok::meters {

namespace {

std::string powercapRoot() {
  const char* over = std::getenv("ETOK_POWERCAP_ROOT");
  return over && *over ? over : "/sys/class/powercap";
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, out);
  return true;
}

struct Domain {
  std::string path;   // directory of the zone
  std::string name;   // "package-0", "dram"
  unsigned long long maxRangeUj = 0;
  unsigned long long lastUj = 0;
  double accumulatedJ = 0;
};

/** Package zones are intel-rapl:N (or amd-rapl... via the same class); dram subzones are intel-rapl:N:M named dram. */
std::vector<Domain> discover(std::string& reason) {
  std::vector<Domain> domains;
  const std::string root = powercapRoot();
  DIR* dir = opendir(root.c_str());
  if (!dir) {
    reason = "no powercap tree at " + root + " (no RAPL on this machine or kernel)";
    return domains;
  }
  std::vector<std::string> zones;
  while (dirent* e = readdir(dir)) {
    const std::string n = e->d_name;
    if (n.find("rapl:") != std::string::npos) zones.push_back(n);
  }
  closedir(dir);
  for (const auto& z : zones) {
    std::string name;
    const std::string path = root + "/" + z;
    if (!readFile(path + "/name", name)) continue;
    const size_t colons = static_cast<size_t>(std::count(z.begin(), z.end(), ':'));
    const bool package = colons == 1 && name.rfind("package", 0) == 0;
    const bool dram = colons == 2 && name == "dram";
    if (!package && !dram) continue;
    Domain d;
    d.path = path;
    d.name = name;
    std::string range;
    if (readFile(path + "/max_energy_range_uj", range)) d.maxRangeUj = std::strtoull(range.c_str(), nullptr, 10);
    domains.push_back(d);
  }
  if (domains.empty()) reason = "no RAPL package domain under " + root;
  return domains;
}

bool readEnergy(const Domain& d, unsigned long long& uj, int& err) {
  std::ifstream in(d.path + "/energy_uj");
  if (!in) {
    err = errno;
    return false;
  }
  in >> uj;
  if (!in) {
    err = EIO;
    return false;
  }
  return true;
}

class RaplMeter final : public Meter {
 public:
  explicit RaplMeter(std::vector<Domain> domains) : domains_(std::move(domains)) {}

  MeterDescription describe() const override {
    MeterDescription d;
    d.id = "rapl";
    d.kind = "rapl";
    d.measured = true;
    d.method = "energy-counter";
    d.boundary = "package";
    d.updatePeriodMs = 1.0;  // RAPL updates about every millisecond
    std::string names;
    for (const auto& dom : domains_) names += (names.empty() ? "" : ", ") + dom.name;
    d.note = "Linux powercap energy_uj, summed over " + names;
    return d;
  }

  EnergyReading read() override {
    std::lock_guard<std::mutex> lock(mu_);
    double total = 0;
    for (auto& d : domains_) {
      unsigned long long uj = 0;
      int err = 0;
      if (!readEnergy(d, uj, err)) throw MeterError(err == EACCES ? "RAPL_PERMISSION" : "RAPL_READ", message(d, err));
      if (primed_) {
        const unsigned long long delta = uj >= d.lastUj ? uj - d.lastUj : uj + (d.maxRangeUj - d.lastUj) + 1;
        d.accumulatedJ += static_cast<double>(delta) * 1e-6;
      }
      d.lastUj = uj;
      total += d.accumulatedJ;
    }
    primed_ = true;
    return {nowNs(), total};
  }

 private:
  static std::string message(const Domain& d, int err) {
    if (err == EACCES)
      return "cannot read " + d.path + "/energy_uj: permission denied; run as root or grant read access " +
             "(e.g. a udev rule: SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod a+r %S%p/energy_uj\")";
    return "cannot read " + d.path + "/energy_uj: " + std::strerror(err);
  }

  std::mutex mu_;
  std::vector<Domain> domains_;
  bool primed_ = false;
};

}  // namespace

MeterAvailability raplAvailability() {
  std::string reason;
  auto domains = discover(reason);
  if (domains.empty()) return {"rapl", "rapl", false, reason};
  for (const auto& d : domains) {
    unsigned long long uj;
    int err = 0;
    if (!readEnergy(d, uj, err))
      return {"rapl", "rapl", false,
              err == EACCES ? "permission denied reading " + d.path + "/energy_uj (needs root or a udev rule)"
                            : "cannot read " + d.path + "/energy_uj: " + std::strerror(err)};
  }
  return {"rapl", "rapl", true, ""};
}

std::unique_ptr<Meter> openRaplMeter() {
  std::string reason;
  auto domains = discover(reason);
  if (domains.empty()) throw MeterError("RAPL_UNAVAILABLE", "meter rapl is unavailable: " + reason);
  auto meter = std::make_unique<RaplMeter>(std::move(domains));
  meter->read();  // prime the wrap tracker; throws with the fix when unreadable
  return meter;
}

}  // namespace etok::meters
