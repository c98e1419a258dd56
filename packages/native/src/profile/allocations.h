// The device memory a profiled program holds, as the driver's allocation calls report it: what a replay saves and
// restores. Allocations (cuMemAlloc and friends, freed by base address) and mapped ranges of the virtual memory API
// (cuMemSetAccess, cuMemUnmap) are kept apart because a mapping may be unmapped in parts. The runtime's calls and the
// driver calls they make may both be reported: an allocation seen twice is kept once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace etok::profile {

struct Range {
  uint64_t base = 0, bytes = 0;
};

class AllocationTable {
 public:
  void allocated(uint64_t base, uint64_t bytes);
  void freed(uint64_t base);
  void mapped(uint64_t base, uint64_t bytes);
  void unmapped(uint64_t base, uint64_t bytes);

  /** Every live range once, sorted, none inside another (what a snapshot copies). */
  std::vector<Range> ranges() const;

  /** True when `address` lies in a known range. */
  bool contains(uint64_t address) const;

 private:
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> allocations_;  // base → bytes
  std::map<uint64_t, uint64_t> mappings_;     // base → end, disjoint
};

}  // namespace etok::profile
