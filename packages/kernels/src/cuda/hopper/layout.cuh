// Shared-memory tile layout of the Hopper kernels and the wgmma descriptors that read it (mirrored line by line in
// packages/kernels/test/cuda/emulate_hopper.py).
//
// Every 16-bit tile is stored in "SW128 blocks": a block holds 64 consecutive dims (128 bytes) of `rows` rows, row r
// at r·128 bytes, with the 16-byte chunk c of a row stored at chunk c ^ (r mod 8). That is the layout the bulk
// tensor copy writes with CU_TENSOR_MAP_SWIZZLE_128B (box inner extent 128 bytes) and the canonical 128-byte-swizzle
// layout wgmma reads, in both majors:
//   K-major (the reduction dim is the 64 dims; Q as A, K as B):  (mn, k) at (mn mod 8)·128 + ⌊mn/8⌋·SBO + 2k,
//     SBO = 1024 (8 rows); one instruction's 16 k lie in one row, so LBO is not used; a k-step moves the start
//     address by 32 bytes inside the row.
//   MN-major (the 64 dims are N; V as B, transposed):  (n, k) at 2·(n mod 64) + ⌊n/64⌋·LBO + (k mod 8)·128 +
//     ⌊k/8⌋·SBO, LBO = rows·128 (the next 64-dim block), SBO = 1024 (8 tokens); a k-step of 16 tokens moves 2048.
// Then the swizzle XORs address bits [4,7) with bits [7,10), which is why each block starts at a multiple of 1024.
#pragma once

#include <cstdint>

namespace etok::kernels::cuda::hopper {

constexpr int kBlockDims = 64;     // 16-bit values in one 128-byte swizzled row
constexpr int kRowBytes = 128;
constexpr int kAtomBytes = 1024;   // 8 rows: the swizzle period

/** Bytes of one SW128 block of `rows` rows, and of a tile of `dims` (a multiple of 64) dims. */
__host__ __device__ constexpr int blockBytes(int rows) { return rows * kRowBytes; }
__host__ __device__ constexpr int tileBytes(int rows, int dims) { return blockBytes(rows) * (dims / kBlockDims); }

/** Byte offset of the 16-byte chunk holding dims [8c, 8c + 8) of a tile row, c = dim / 8 (any dim < tile dims). */
__host__ __device__ __forceinline__ uint32_t chunkOffset(int rows, int row, int chunk) {
  const int block = chunk >> 3, c = chunk & 7;
  return static_cast<uint32_t>(block * blockBytes(rows) + row * kRowBytes + ((c ^ (row & 7)) << 4));
}

/** The 64-bit shared-memory matrix descriptor: start, LBO and SBO in 16-byte units, swizzle mode 1 = 128 bytes. */
__host__ __device__ __forceinline__ uint64_t makeDescriptor(uint32_t startAddress, uint32_t lbo, uint32_t sbo) {
  return static_cast<uint64_t>((startAddress >> 4) & 0x3fffu) | (static_cast<uint64_t>((lbo >> 4) & 0x3fffu) << 16) |
         (static_cast<uint64_t>((sbo >> 4) & 0x3fffu) << 32) | (uint64_t{1} << 62);
}

/** K-major operand (64 rows of A, or N rows of B) of a tile of `rows` rows at shared address `tile`: rows from
 *  `row0` (a multiple of 8), k-step `ks` (16 dims: block ks/4, 32 bytes × (ks mod 4) inside the row). */
__host__ __device__ __forceinline__ uint64_t kMajorDescriptor(uint32_t tile, int rows, int row0, int ks) {
  const uint32_t start = tile + static_cast<uint32_t>((ks >> 2) * blockBytes(rows) + row0 * kRowBytes + (ks & 3) * 32);
  return makeDescriptor(start, 16u, static_cast<uint32_t>(kAtomBytes));
}

/** MN-major B operand (values stored [token][dim]) of a tile of `rows` tokens at shared address `tile`: N dims from
 *  `n0` (a multiple of 64), k-step kk (tokens 16kk .. 16kk + 15). */
__host__ __device__ __forceinline__ uint64_t mnMajorDescriptor(uint32_t tile, int rows, int n0, int kk) {
  const uint32_t start = tile + static_cast<uint32_t>((n0 / kBlockDims) * blockBytes(rows) + kk * 16 * kRowBytes);
  return makeDescriptor(start, static_cast<uint32_t>(blockBytes(rows)), static_cast<uint32_t>(kAtomBytes));
}

}  // namespace etok::kernels::cuda::hopper
