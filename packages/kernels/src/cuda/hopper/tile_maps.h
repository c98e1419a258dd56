// What the host hands a Hopper kernel beside AttnArgs, and what it needs to know to launch one (no device code).
#pragma once

#include <cuda.h>

#include <cstddef>

namespace etok::kernels::cuda::hopper {

/** Bulk-copy tensor maps, passed by value as a __grid_constant__ kernel parameter. Dense: k = keys, v = values;
 *  mla: k = ckv, v = kRope. Each is 3-D (row bytes or dims, kvLen, batch × kv groups), so tokens past kvLen of a
 *  sequence are zero-filled instead of read from the next one. */
struct TileMaps {
  CUtensorMap k;
  CUtensorMap v;
};

/** One compiled Hopper kernel instance, what it computes and its launch shape. */
struct HopperKernel {
  const void* fn = nullptr;
  bool mla = false;
  int act = 0, kv = 0;  // StoreFormat of the activations and of the cache
  int headDim = 0;      // dense: 64 or 128; mla: 576 (512 + 64)
  int threads = 0;
  size_t fixedShared = 0;  // dynamic shared memory without the NSA tile list (4 bytes a tile on top)
  int rowsPerBlock = 0;    // packed query rows per block
  int tokensPerTile = 0;   // KV tile
  int stages = 0;          // activation-type tile stages
  int rawStages = 0;       // raw (quantized) tile stages; 0 when the cache is stored at the activation type
  int rawPieceBytes = 0;   // width of the raw bulk copies (a stored row arrives in pieces of at most 256 bytes)
  int rawRopePieceBytes = 0;
  const char* config = "";  // e.g. "c2-t128-s2": consumer warpgroups, tile tokens, stages (and raw stages)
  const char* name = "";
};

}  // namespace etok::kernels::cuda::hopper
