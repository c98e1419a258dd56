// Quantized KV tiles (kv-int8, kv-fp8, kv-int4) on the Hopper path: the bulk copy brings the stored bytes of a tile
// into a raw stage unchanged (no swizzle; a row wider than 256 bytes arrives as pieces of 256, piece p of row t at
// p·NTOK·256 + t·256), and the converter warps turn them into the activation-type SW128 tile the MMAs read, while
// the compute warpgroups work on earlier tiles. Values are decoded exactly (int8 and int4 by integer conversion,
// E4M3 by the hardware pair conversion to f16), multiplied by the row's (or group's) f16 scale in f32 and rounded
// to the activation type, as the mma.sync path does; scales are read from global memory (2 bytes a row or group).
#pragma once

#include <cuda_fp8.h>

#include "../prefill_mma.cuh"  // pack2
#include "layout.cuh"
#include "primitives.cuh"

namespace etok::kernels::cuda::hopper {

/** Bytes of one stored row of `dims` values, and the width of the pieces the copy engine brings it in. */
template <StoreFormat F> __host__ __device__ constexpr int rawRowBytes(int dims) {
  return F == StoreFormat::Int4 ? dims / 2 : dims;
}
template <StoreFormat F> __host__ __device__ constexpr int rawPieceBytes(int dims) {
  return rawRowBytes<F>(dims) > 256 ? 256 : rawRowBytes<F>(dims);
}

/** Offset of byte x of row t in a raw tile of `ntok` rows. */
__host__ __device__ constexpr int rawOffset(int ntok, int piece, int t, int x) {
  return (x / piece) * ntok * piece + t * piece + x % piece;
}

template <class T> __device__ __forceinline__ uint4 scaled8(const float (&v)[8], float scale) {
  uint4 u;
  u.x = pack2<T>(v[0] * scale, v[1] * scale), u.y = pack2<T>(v[2] * scale, v[3] * scale);
  u.z = pack2<T>(v[4] * scale, v[5] * scale), u.w = pack2<T>(v[6] * scale, v[7] * scale);
  return u;
}

#if ETOK_HOPPER_DEVICE
/** 8 stored bytes (int8 or E4M3) to 8 exact floats. */
template <StoreFormat F> __device__ __forceinline__ void decode8(uint2 raw, float (&v)[8]) {
  const uint32_t w[2] = {raw.x, raw.y};
  if constexpr (F == StoreFormat::Fp8) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(w[i >> 1] >> (16 * (i & 1))),
                                                       __NV_E4M3);
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&h));
      v[2 * i] = f.x, v[2 * i + 1] = f.y;
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; i++) v[i] = static_cast<float>(static_cast<int8_t>(w[i >> 2] >> (8 * (i & 3))));
  }
}

/**
 * Converts tokens [0, NTOK) of one raw plane tile (`DIMS` values a row) into chunks chunk0 .. chunk0 + DIMS/8 − 1 of
 * the SW128 tile `tile` (NTOK rows). Work is split over `workers` threads (this one is `worker`). Tokens past kvLen
 * were zero-filled by the copy and get scale 0.
 */
template <StoreFormat F, class T, int NTOK, int DIMS>
__device__ __forceinline__ void convertPlane(const uint8_t* raw, const Plane& plane, int64_t rowBase, int t0, int kvLen,
                                             uint8_t* tile, int chunk0, int worker, int workers) {
  constexpr int kPiece = rawPieceBytes<F>(DIMS);
  if constexpr (F == StoreFormat::Int4) {
    constexpr int kItems = NTOK * DIMS / 16;  // (token, 32-group, half): 8 bytes → 16 values
    for (int it = worker; it < kItems; it += workers) {
      const int t = it / (DIMS / 16), gh = it % (DIMS / 16), g = gh >> 1, h = gh & 1;
      const uint2 u = *reinterpret_cast<const uint2*>(raw + rawOffset(NTOK, kPiece, t, 16 * g + 8 * h));
      const bool inside = t0 + t < kvLen;
      const float scale = inside ? __half2float(
                                       __ushort_as_half(__ldg(plane.scales + (rowBase + t0 + t) * plane.groups + g)))
                                 : 0.f;
      const uint32_t w[2] = {u.x, u.y};
      float lo[8], hi[8];
#pragma unroll
      for (int i = 0; i < 8; i++) {
        const uint32_t byte = (w[i >> 2] >> (8 * (i & 3))) & 0xffu;
        lo[i] = static_cast<float>(static_cast<int>(byte & 0xfu) - 8);
        hi[i] = static_cast<float>(static_cast<int>(byte >> 4) - 8);
      }
      *reinterpret_cast<uint4*>(tile + chunkOffset(NTOK, t, chunk0 + 4 * g + h)) = scaled8<T>(lo, scale);
      *reinterpret_cast<uint4*>(tile + chunkOffset(NTOK, t, chunk0 + 4 * g + 2 + h)) = scaled8<T>(hi, scale);
    }
  } else {
    constexpr int kItems = NTOK * DIMS / 8;  // (token, chunk): 8 bytes → 8 values
    for (int it = worker; it < kItems; it += workers) {
      const int t = it / (DIMS / 8), c = it % (DIMS / 8);
      const uint2 u = *reinterpret_cast<const uint2*>(raw + rawOffset(NTOK, kPiece, t, 8 * c));
      const bool inside = t0 + t < kvLen;
      const float scale = inside
                              ? __half2float(__ushort_as_half(__ldg(plane.scales + (rowBase + t0 + t) * plane.groups)))
                              : 0.f;
      float v[8];
      decode8<F>(u, v);
      *reinterpret_cast<uint4*>(tile + chunkOffset(NTOK, t, chunk0 + c)) = scaled8<T>(v, scale);
    }
  }
}
#endif

}  // namespace etok::kernels::cuda::hopper
