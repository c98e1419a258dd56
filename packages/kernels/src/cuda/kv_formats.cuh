// Dequantize-in-register policies, one per StoreFormat (the scheme of ../common/quantize.h, bit for bit):
// `Format<F>::load8(plane, row, d0, out)` returns the 8 values d0..d0+7 (d0 a multiple of 8) of one stored row as
// floats, with one vector load per unit where the layout allows it:
//   f32 two 16-byte loads · bf16/f16 one 16-byte load · int8/fp8 one 8-byte load + the row's f16 scale ·
//   int4 one 8-byte load of the group's nibbles (low nibbles hold values 0..15 of a 32-group, high 16..31) + the
//   group's f16 scale; a short last group (dim not a multiple of 32) falls back to byte loads (compiled out where
//   the caller passes kFullGroups: the tensor-core instances, whose dims are all multiples of 32).
// Every decoded value is exact in f32 (int × f16 scale), so the kernels see the values the fp64 reference sees.
#pragma once

#include "common.cuh"

namespace etok::kernels::cuda {

__device__ __forceinline__ float f16BitsToFloat(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }

/** fp8 E4M3 (FN) byte to float: shift the 7 magnitude bits under the f32 exponent and rescale by 2^120, which
 *  also maps E4M3 subnormals onto f32 subnormals exactly (nvcc keeps denormals unless -ftz). NaN is never stored. */
__device__ __forceinline__ float fp8e4m3ToFloat(uint32_t b) {
  const float mag = __uint_as_float((b & 0x7fu) << 20) * 1.329227995784916e36f;  // 2^120
  return (b & 0x80u) ? -mag : mag;
}

template <StoreFormat F> struct Format;

template <> struct Format<StoreFormat::F32> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const float4* src = reinterpret_cast<const float4*>(p.values + row * p.pitch) + (d0 >> 2);
    const float4 a = __ldg(src), b = __ldg(src + 1);
    out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w, out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
  }
};

template <> struct Format<StoreFormat::BF16> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const uint4 u = __ldg(reinterpret_cast<const uint4*>(p.values + row * p.pitch) + (d0 >> 3));
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      out[2 * i] = __uint_as_float(w[i] << 16);
      out[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
};

template <> struct Format<StoreFormat::F16> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const uint4 u = __ldg(reinterpret_cast<const uint4*>(p.values + row * p.pitch) + (d0 >> 3));
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
      out[2 * i] = f.x;
      out[2 * i + 1] = f.y;
    }
  }
};

template <> struct Format<StoreFormat::Int8> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const uint2 u = __ldg(reinterpret_cast<const uint2*>(p.values + row * p.pitch + d0));
    const float scale = f16BitsToFloat(__ldg(p.scales + row * p.groups));
    const uint32_t w[2] = {u.x, u.y};
#pragma unroll
    for (int i = 0; i < 8; i++) out[i] = static_cast<float>(static_cast<int8_t>(w[i >> 2] >> (8 * (i & 3)))) * scale;
  }
};

template <> struct Format<StoreFormat::Fp8> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const uint2 u = __ldg(reinterpret_cast<const uint2*>(p.values + row * p.pitch + d0));
    const float scale = f16BitsToFloat(__ldg(p.scales + row * p.groups));
    const uint32_t w[2] = {u.x, u.y};
#pragma unroll
    for (int i = 0; i < 8; i++) out[i] = fp8e4m3ToFloat((w[i >> 2] >> (8 * (i & 3))) & 0xffu) * scale;
  }
};

template <> struct Format<StoreFormat::Int4> {
  template <bool kFullGroups = false>
  __device__ __forceinline__ static void load8(const Plane& p, int64_t row, int d0, float* out) {
    const int group = d0 >> 5, begin = group << 5;
    const int len = min(static_cast<int>(kInt4Group), p.dim - begin), half = len >> 1;
    const uint8_t* bytes = p.values + row * p.pitch + (begin >> 1);
    const float scale = f16BitsToFloat(__ldg(p.scales + row * p.groups + group));
    const int o = d0 - begin;
    if (kFullGroups ||
        len == kInt4Group) {  // full group: values o..o+7 are the low (o < 16) or high nibbles of 8 bytes
      const uint2 u = __ldg(reinterpret_cast<const uint2*>(bytes + (o & 15)));
      const uint32_t w[2] = {u.x, u.y};
      const int shift = o < 16 ? 0 : 4;
#pragma unroll
      for (int i = 0; i < 8; i++)
        out[i] = static_cast<float>(static_cast<int>((w[i >> 2] >> (8 * (i & 3) + shift)) & 0xfu) - 8) * scale;
    } else {
#pragma unroll
      for (int i = 0; i < 8; i++) {
        const int j = o + i;
        const uint8_t b = __ldg(bytes + (j < half ? j : j - half));
        out[i] = static_cast<float>(static_cast<int>(j < half ? (b & 0xfu) : (b >> 4)) - 8) * scale;
      }
    }
  }
};

/** Key units: dims below k0.dim come from k0 (dense k, or ckv), the rest from k1 (kRope). kFullGroups: the caller
 *  knows every dim is a multiple of 32 (int4 never takes the short-group path). */
template <StoreFormat F, bool kFullGroups = false>
__device__ __forceinline__ void loadKey8(const AttnArgs& a, int64_t row, int d0, float* out) {
  if (d0 < a.k0.dim) Format<F>::template load8<kFullGroups>(a.k0, row, d0, out);
  else Format<F>::template load8<kFullGroups>(a.k1, row, d0 - a.k0.dim, out);
}

/** Query units at the activation format: dims below q0.dim from q0 (q or qNope), the rest from q1 (qRope). */
template <StoreFormat A>
__device__ __forceinline__ void loadQuery8(const AttnArgs& a, int64_t row, int d0, float* out) {
  if (d0 < a.q0.dim) Format<A>::load8(a.q0, row, d0, out);
  else Format<A>::load8(a.q1, row, d0 - a.q0.dim, out);
}

}  // namespace etok::kernels::cuda
