#include "meters/power_timeline.h"

#include <algorithm>
#include <chrono>

namespace etok::meters {

PowerTimeline::PowerTimeline(Meter& meter, double periodMs, size_t maxSamples)
    : meter_(meter), periodMs_(std::max(1.0, periodMs)), maxSamples_(std::max<size_t>(2, maxSamples)) {
  PowerReading probe;
  source_ = meter_.readPower(probe) ? "instant-power" : "energy-difference";
  samples_.push_back(take());  // the first sample on the caller's thread: a failing meter throws here
  thread_ = std::thread([this] { loop(); });
}

PowerTimeline::~PowerTimeline() { stop(); }

void PowerTimeline::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A last sample at the stop, so a window that ended just before it is covered to its end.
  std::lock_guard<std::mutex> lock(mu_);
  if (!error_.empty()) return;
  try {
    const TimelineSample s = take();
    if (samples_.size() < maxSamples_) samples_.push_back(s);
  } catch (const MeterError& e) {
    error_ = e.code() + ": " + e.what();
  } catch (const std::exception& e) {  // stop() runs in the destructor: nothing may escape
    error_ = std::string("INTERNAL: ") + e.what();
  }
}

TimelineSample PowerTimeline::take() {
  TimelineSample s;
  if (source_ == "instant-power") {
    PowerReading p;
    meter_.readPower(p);
    s.tNs = p.tNs;
    s.watts = p.watts;
    return s;
  }
  const EnergyReading e = meter_.read();
  s.tNs = e.tNs;
  s.joules = e.joules;
  if (haveEnergy_ && e.tNs > lastEnergy_.tNs)
    s.watts = (e.joules - lastEnergy_.joules) / (static_cast<double>(e.tNs - lastEnergy_.tNs) * 1e-9);
  lastEnergy_ = e;
  haveEnergy_ = true;
  return s;
}

void PowerTimeline::loop() {
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(periodMs_ * 1e6));
  auto next = std::chrono::steady_clock::now() + period;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Absolute deadlines: the period does not stretch by the time each read takes.
    wake_.wait_until(lock, next, [this] { return stop_; });
    if (stop_) break;
    next += period;
    lock.unlock();
    try {
      const TimelineSample s = take();
      lock.lock();
      if (samples_.size() < maxSamples_) samples_.push_back(s);
    } catch (const MeterError& e) {
      lock.lock();
      error_ = e.code() + ": " + e.what();
      break;
    } catch (const std::exception& e) {
      lock.lock();
      error_ = std::string("INTERNAL: ") + e.what();
      break;
    }
  }
}

std::vector<TimelineSample> PowerTimeline::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_;
}

std::string PowerTimeline::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

double PowerTimeline::integrateJoules(int64_t t0Ns, int64_t t1Ns, int* count) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (count) *count = 0;
  // Usable samples: those with a power value (the first energy-difference sample has none).
  std::vector<const TimelineSample*> pts;
  for (const auto& s : samples_)
    if (!std::isnan(s.watts)) pts.push_back(&s);
  if (pts.size() < 2 || t1Ns <= t0Ns || pts.front()->tNs > t0Ns || pts.back()->tNs < t1Ns) return NAN;
  auto wattsAt = [&](int64_t t) {
    auto it = std::lower_bound(pts.begin(), pts.end(), t,
                               [](const TimelineSample* s, int64_t v) { return s->tNs < v; });
    if (it == pts.begin()) return (*it)->watts;
    const TimelineSample* b = *it;
    const TimelineSample* a = *(it - 1);
    const double f = b->tNs > a->tNs ? static_cast<double>(t - a->tNs) / static_cast<double>(b->tNs - a->tNs) : 0.0;
    return a->watts + f * (b->watts - a->watts);
  };
  double joules = 0;
  int64_t prevT = t0Ns;
  double prevW = wattsAt(t0Ns);
  int inside = 0;
  for (const TimelineSample* s : pts) {
    if (s->tNs <= t0Ns) continue;
    if (s->tNs >= t1Ns) break;
    joules += 0.5 * (prevW + s->watts) * static_cast<double>(s->tNs - prevT) * 1e-9;
    prevT = s->tNs;
    prevW = s->watts;
    inside++;
  }
  const double endW = wattsAt(t1Ns);
  joules += 0.5 * (prevW + endW) * static_cast<double>(t1Ns - prevT) * 1e-9;
  if (count) *count = inside;
  return joules;
}

CrossCheck PowerTimeline::crossCheck(int64_t t0Ns, int64_t t1Ns, double counterJ) const {
  CrossCheck c;
  c.t0Ns = t0Ns;
  c.t1Ns = t1Ns;
  c.counterJ = counterJ;
  c.sampledJ = integrateJoules(t0Ns, t1Ns, &c.samples);
  return c;
}

}  // namespace etok::meters
