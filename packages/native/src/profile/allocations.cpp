#include "profile/allocations.h"

#include <algorithm>

namespace etok::profile {

void AllocationTable::allocated(uint64_t base, uint64_t bytes) {
  if (base == 0 || bytes == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  allocations_[base] = bytes;
}

void AllocationTable::freed(uint64_t base) {
  std::lock_guard<std::mutex> lock(mutex_);
  allocations_.erase(base);
}

void AllocationTable::mapped(uint64_t base, uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t lo = base, hi = base + bytes;
  // Merge with every range it touches, so the map stays disjoint.
  auto it = mappings_.upper_bound(lo);
  if (it != mappings_.begin() && std::prev(it)->second >= lo) --it;
  while (it != mappings_.end() && it->first <= hi) {
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    it = mappings_.erase(it);
  }
  mappings_[lo] = hi;
}

void AllocationTable::unmapped(uint64_t base, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t lo = base, hi = base + bytes;
  auto it = mappings_.upper_bound(lo);
  if (it != mappings_.begin()) --it;
  while (it != mappings_.end() && it->first < hi) {
    const uint64_t a = it->first, b = it->second;
    if (b <= lo) {
      ++it;
      continue;
    }
    it = mappings_.erase(it);
    if (a < lo) mappings_[a] = lo;  // the part before the hole
    if (b > hi) mappings_[hi] = b;  // the part after it
  }
}

std::vector<Range> AllocationTable::ranges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Range> all;
  for (const auto& [base, bytes] : allocations_) all.push_back({base, bytes});
  for (const auto& [lo, hi] : mappings_) all.push_back({lo, hi - lo});
  std::sort(all.begin(), all.end(),
            [](const Range& a, const Range& b) { return a.base != b.base ? a.base < b.base : a.bytes > b.bytes; });
  // Ranges that lie inside an earlier one are copied with it (each is still its own copy: allocations that happen
  // to be adjacent are separate objects to the driver and one copy may not span two).
  std::vector<Range> out;
  uint64_t coveredTo = 0;
  for (const auto& r : all) {
    if (r.base + r.bytes <= coveredTo) continue;
    out.push_back(r);
    coveredTo = std::max(coveredTo, r.base + r.bytes);
  }
  return out;
}

bool AllocationTable::contains(uint64_t address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto a = allocations_.upper_bound(address);
  if (a != allocations_.begin() && address < std::prev(a)->first + std::prev(a)->second) return true;
  auto m = mappings_.upper_bound(address);
  return m != mappings_.begin() && address < std::prev(m)->second;
}

}  // namespace etok::profile
