// Two kernels of very different power, for checking `etok profile` against ground truth: a tensor-core matrix
// product (wmma, fp16 in, fp32 accumulate: C += A·B) and a memory-bound copy (dst = src + 1). The program
// (two_kernels.cu) and the etok plugins (two_kernels_plugin.cu) launch them with the same sizes and launch
// configurations, so the J/call `etok profile` replays in the program can be set beside the J/call `etok bench
// --plugin` measures. Entries of A and B are multiples of 1/8 in [-1, 1], so every product and sum is exact in
// fp32 and the result is the same in any order of accumulation: a checksum that any change of state would move.
#pragma once

#include <cuda_fp16.h>
#include <mma.h>

#include <cstdint>

namespace two_kernels {

constexpr int kN = 2048;                  // A, B, C are kN × kN
constexpr int kTile = 16;                 // one wmma tile per warp
constexpr int kWarpsPerBlock = 4;
constexpr int64_t kCopyFloats = 64 << 20;  // 256 MiB read, 256 MiB written per copy

/** C += A·B, A row-major, B column-major, C row-major; one warp per 16×16 tile of C. */
__global__ void __launch_bounds__(kWarpsPerBlock * 32) mmaKernel(const __half* a, const __half* b, float* c) {
  using namespace nvcuda;
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int tilesPerRow = kN / kTile;
  const int row = (warp / tilesPerRow) * kTile, col = (warp % tilesPerRow) * kTile;
  if (row >= kN) return;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::load_matrix_sync(acc, c + row * kN + col, kN, wmma::mem_row_major);
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
  for (int k = 0; k < kN; k += kTile) {
    wmma::load_matrix_sync(fa, a + row * kN + k, kN);
    wmma::load_matrix_sync(fb, b + col * kN + k, kN);
    wmma::mma_sync(acc, fa, fb, acc);
  }
  wmma::store_matrix_sync(c + row * kN + col, acc, kN, wmma::mem_row_major);
}

/** dst = src + 1, four floats a thread per step, grid-stride. */
__global__ void copyKernel(const float4* src, float4* dst, int64_t n4) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4; i += int64_t(gridDim.x) * blockDim.x) {
    float4 v = src[i];
    v.x += 1.f;
    v.y += 1.f;
    v.z += 1.f;
    v.w += 1.f;
    dst[i] = v;
  }
}

inline dim3 mmaGrid() { return dim3((kN / kTile) * (kN / kTile) / kWarpsPerBlock); }
inline dim3 mmaBlock() { return dim3(kWarpsPerBlock * 32); }
inline dim3 copyGrid(int multiprocessors) { return dim3(multiprocessors * 8); }
inline dim3 copyBlock() { return dim3(256); }

/** Deterministic inputs: multiples of 1/8 in [-1, 1]. */
inline float inputValue(uint64_t i, uint64_t salt) {
  uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ salt;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return static_cast<float>(static_cast<int>(x % 17) - 8) / 8.0f;
}

}  // namespace two_kernels
