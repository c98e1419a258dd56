#!/usr/bin/env bash
# Packs everything a run on a GPU machine needs into .gpu-stage/bundle.tar.xz, built HERE (a machine with nvcc but no
# GPU), so the GPU machine spends its minutes measuring, not compiling, and needs no Node install:
#   gpu/            bench/gpu built for sm_90a: kernels/etok-cuda-validate, libetok_gpu_bench.so (run.py and
#                   sweep_decode.py drive both; the sweep also uses the library's re-planning hook, etok_replan)
#   gpu/profile/    examples/profile-two-kernels built for sm_90a: the program and its two kernels as etok plugins
#                   (bench/gpu/profile_check.sh)
#   etok/           the etok CLI as a user runs it: the four packages' dist/, the CUDA-enabled addon, `etok profile`'s
#                   injection library and the toolkit's libcupti beside it, zod and onnx-proto (the CLI's only
#                   runtime imports outside onnx commands), and this machine's node binary
# Then, on the GPU machine, from a copy of the repository with .gpu-stage in it: bash bench/gpu/device-run.sh 420
# The addon must have been built with CUDA (packages/native/build/etok-config.txt says cuda=ON): `npm install`
# does that wherever nvcc is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ARCH=${ETOK_STAGE_ARCH:-90a}
STAGE=$ROOT/.gpu-stage
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

grep -q '^cuda=ON' "$ROOT/packages/native/build/etok-config.txt" || {
  echo "stage.sh: the addon in packages/native/build was built without CUDA; install nvcc and rebuild it" >&2
  exit 1
}
echo "building bench/gpu for sm_$ARCH"
cmake -S "$ROOT/bench/gpu" -B "$ROOT/bench/gpu/build" -DCMAKE_BUILD_TYPE=Release -DETOK_CUDA_ARCHITECTURES="$ARCH" >/dev/null
cmake --build "$ROOT/bench/gpu/build" -j "$(nproc)" >/dev/null

echo "building examples/profile-two-kernels for sm_$ARCH"
cmake -S "$ROOT/examples/profile-two-kernels" -B "$ROOT/examples/profile-two-kernels/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCH" >/dev/null
cmake --build "$ROOT/examples/profile-two-kernels/build" -j "$(nproc)" >/dev/null

mkdir -p "$TMP/gpu/kernels" "$TMP/gpu/profile" "$TMP/etok/node_modules/@etok"
cp "$ROOT/examples/profile-two-kernels/build/two-kernels" "$ROOT/examples/profile-two-kernels/build/libtwo_kernels_mma.so" \
  "$ROOT/examples/profile-two-kernels/build/libtwo_kernels_copy.so" "$TMP/gpu/profile/"
cp "$ROOT/bench/gpu/build/libetok_gpu_bench.so" "$TMP/gpu/"
cp "$ROOT/bench/gpu/build/kernels/etok-cuda-validate" "$TMP/gpu/kernels/"
for p in kernels native core cli; do
  mkdir -p "$TMP/etok/packages/$p"
  cp -r "$ROOT/packages/$p/package.json" "$ROOT/packages/$p/dist" "$TMP/etok/packages/$p/"
  ln -s "../../packages/$p" "$TMP/etok/node_modules/@etok/$p"
done
cp -r "$ROOT/packages/cli/bin" "$TMP/etok/packages/cli/"
# The `etok` Python module and its peers (--python, --peer torch); the GPU machine brings Python and PyTorch.
cp -r "$ROOT/packages/native/python" "$TMP/etok/packages/native/"
find "$TMP/etok/packages/native/python" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$TMP/etok/packages/native/build/Release"
cp "$ROOT/packages/native/build/Release/etok_native.node" "$TMP/etok/packages/native/build/Release/"
# etok profile: the injection library (next to the addon, where the CLI looks) and the CUPTI it was built against.
cp "$ROOT/packages/native/build/Release/libetok_profile_inject.so" "$TMP/etok/packages/native/build/Release/"
CUPTI=$(sed -n 's/^CUDA_cupti_LIBRARY:FILEPATH=//p' "$ROOT/packages/native/build/CMakeCache.txt")
if [ -n "$CUPTI" ] && [ -e "$CUPTI" ]; then
  cp -L "$CUPTI" "$TMP/etok/packages/native/build/Release/libcupti.so"
else
  echo "stage.sh: no libcupti beside the toolkit; etok profile on the GPU machine will need its own (ETOK_CUPTI_LIBRARY)" >&2
fi
for m in zod onnx-proto; do cp -rL "$ROOT/node_modules/$m" "$TMP/etok/node_modules/"; done
cp "$(command -v node)" "$TMP/etok/node"
git -C "$ROOT" rev-parse HEAD >"$TMP/commit"
git -C "$ROOT" status --porcelain --untracked-files=no | grep -q . && echo "dirty" >>"$TMP/commit"

mkdir -p "$STAGE"
tar -C "$TMP" -cf - gpu etok commit | xz -T0 -6 >"$STAGE/bundle.tar.xz"
ls -la "$STAGE/bundle.tar.xz"
