// Cache-line-aligned storage for the kernels' large arrays. malloc returns 16-byte-aligned blocks (large ones are
// a page plus a 16-byte header), so without this every other 32-byte vector load of a KV row straddles two cache
// lines and costs two loads; the fast paths read these arrays with 32-byte vectors and 64-byte line requests.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace etok::kernels {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept {
    return false;
  }
};

/** A std::vector whose data() starts on a cache line. */
template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace etok::kernels
