#!/usr/bin/env python3
"""Device-machine script for etok's CUDA kernels: build, validate, measure, in one call.

Needs: nvcc + CMake (builds bench/gpu with the kernels library), Python with PyTorch (ceilings and the SDPA
comparison) and pynvml (board energy counter; energy columns are left empty without it). No Node.

    python3 bench/gpu/run.py --out "$OUT"                 # build + validate + measure (≈ 6-8 min on an H100)
    python3 bench/gpu/run.py --out "$OUT" --part validate # only the correctness matrix
    python3 bench/gpu/run.py --out "$OUT" --part measure  # only the measurements (build reused while warm)
    python3 bench/gpu/run.py --out "$OUT" --no-build --build-dir DIR  # artifacts built elsewhere (bench/gpu/device-run.sh)

Steps:
 1. build   cmake -S bench/gpu -B bench/gpu/build -DETOK_CUDA_ARCHITECTURES=<90a on Hopper, 80 on Ampere>
 2. validate  bench/gpu/build/kernels/etok-cuda-validate --json: every lever set × phase × dtype × kernel path
              (and forced KV splits for decode) against the fp64 references, fresh random inputs, outputs
              poisoned with NaN before each run. → validate.jsonl
 3. measure   in this process, on the same GPU, in this order: the ceilings (device-to-device copy bandwidth
              counting read + write bytes, bf16 matmul via torch.mm), then each etok case through
              libetok_gpu_bench.so (hot: median of per-call CUDA-event times; cold: L2 flushed before each call;
              energy: NVML total-energy counter around ≥ 1 s of back-to-back calls), and PyTorch's
              scaled_dot_product_attention (flash backend) on the same dense shapes. → gpu-results.json

FLOP and byte formulas are FlashInfer's (decode/prefill: q + K + V + o bytes at the stored dtype, 4·heads·kvLen·d
FLOPs per query row; causal prefill halves the FLOPs) and FlashMLA's (2·heads·kvLen·(dK + dV) FLOPs, bytes =
latent cache + q + o), so the numbers compare directly with theirs. Quantized caches count their scales.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START = time.time()
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------- build


def arch_of(torch):
    major, minor = torch.cuda.get_device_capability(0)
    if major == 9:
        return "90a"
    return f"{major}{minor}"


def build(build_dir, arch, out_dir):
    jobs = str(os.cpu_count() or 8)
    with open(os.path.join(out_dir, "build.log"), "w") as f:
        for cmd in (
            ["cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", f"-DETOK_CUDA_ARCHITECTURES={arch}"],
            ["cmake", "--build", build_dir, "-j", jobs],
        ):
            log("$", " ".join(cmd))
            t0 = time.time()
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
            log(f"  exit {r.returncode} in {time.time() - t0:.0f} s")
            if r.returncode != 0:
                sys.exit(f"build failed: see {out_dir}/build.log")


# ---------------------------------------------------------------- validate


def validate(build_dir, out_dir, quick, timeout_s):
    exe = os.path.join(build_dir, "kernels", "etok-cuda-validate")
    # The stream decode's own cases (every variant) run in sweep_decode.py's call; here the paths the defaults use.
    cmd = [exe, "--json", "--paths", "auto,simt,warp"] + (["--quick"] if quick else [])
    log("$", " ".join(cmd), f"(timeout {timeout_s:.0f} s)")
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:  # keep what finished: every case prints as it completes
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        r = subprocess.CompletedProcess(cmd, 124, out, "validation timed out: rerun with --part validate")
    with open(os.path.join(out_dir, "validate.jsonl"), "w") as f:
        f.write(r.stdout)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    fails = [x for x in rows if not x["pass"]]
    log(f"validate: {len(rows) - len(fails)}/{len(rows)} passed in {time.time() - t0:.0f} s (exit {r.returncode})")
    log(r.stderr.strip()[-2000:])
    for x in fails[:40]:
        log(
            f"  FAIL {x['variant']:<20} {x['phase']:<7} {x['dtype']:<4} {x['path']:<4} splits={x['splits']} "
            f"exact={x['relErrorVsExact']:.2e} nonfinite={x['nonFinite']} {x['kernel']} {x['error']}"
        )
    worst = {}
    for x in rows:
        key = (x["dtype"], x["path"])
        if x["pass"]:
            worst[key] = max(worst.get(key, 0.0), x["relErrorVsExact"])
    for key, v in sorted(worst.items()):
        log(f"  worst passing relErrorVsExact {key[0]}/{key[1]}: {v:.2e}")
    return {"cases": len(rows), "failures": len(fails), "exit": r.returncode, "worstPassing": {f"{k[0]}/{k[1]}": v for k, v in worst.items()}}


# ---------------------------------------------------------------- the etok C ABI


class Etok:
    def __init__(self, build_dir):
        lib = ctypes.CDLL(os.path.join(build_dir, "libetok_gpu_bench.so"))
        lib.etok_last_error.restype = ctypes.c_char_p
        lib.etok_prepare.restype = ctypes.c_void_p
        lib.etok_prepare.argtypes = [ctypes.c_char_p] * 3 + [
            ctypes.POINTER(ctypes.c_longlong),
            ctypes.POINTER(ctypes.c_double),
            ctypes.c_char_p,
            ctypes.c_ulonglong,
            ctypes.c_int,
        ]
        for name in ("etok_run",):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
        for name in ("etok_synchronize", "etok_flush_l2", "etok_free"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.etok_last_seconds.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
        lib.etok_describe.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.etok_check.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_double)] * 2 + [ctypes.POINTER(ctypes.c_longlong)]
        self.lib = lib

    def ok(self, rc):
        if rc != 0:
            raise RuntimeError(self.lib.etok_last_error().decode())

    def prepare(self, variant, phase, dtype, shape, params=None, profile="uniform", seed=1):
        s = [shape.get(k, d) for k, d in (("batch", 1), ("heads", 32), ("kvHeads", 8), ("headDim", 128), ("qLen", 1), ("kvLen", 4096), ("rank", 512), ("ropeDim", 64))]
        p = params or {}
        pa = [p.get("scale", 0.0), p.get("blockSize", 64), p.get("topK", 16), p.get("window", 512)]
        h = self.lib.etok_prepare(
            variant.encode(), phase.encode(), dtype.encode(), (ctypes.c_longlong * 8)(*s), (ctypes.c_double * 4)(*pa), profile.encode(), seed, 0
        )
        if not h:
            raise RuntimeError(self.lib.etok_last_error().decode())
        return h

    def describe(self, h):
        buf = ctypes.create_string_buffer(512)
        self.ok(self.lib.etok_describe(h, buf, 512))
        return buf.value.decode()

    def run(self, h, calls=1):
        self.ok(self.lib.etok_run(h, calls))

    def sync(self, h):
        self.ok(self.lib.etok_synchronize(h))

    def last_seconds(self, h):
        x = ctypes.c_double()
        self.ok(self.lib.etok_last_seconds(h, ctypes.byref(x)))
        return x.value

    def flush(self, h):
        self.ok(self.lib.etok_flush_l2(h))

    def free(self, h):
        self.lib.etok_free(h)


# ---------------------------------------------------------------- measurement helpers


class Energy:
    """NVML total-energy counter of GPU 0 (mJ); None where pynvml or the counter is missing."""

    def __init__(self):
        self.h = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.h = pynvml.nvmlDeviceGetHandleByIndex(0)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self.h)
            self.driver = pynvml.nvmlSystemGetDriverVersion()
            self.driver = self.driver.decode() if isinstance(self.driver, bytes) else self.driver
        except Exception as e:  # noqa: BLE001 - report, do not fail the run
            log(f"energy: unavailable ({e})")
            self.h = None
            self.driver = None

    def joules(self):
        return None if self.h is None else self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.h) / 1000.0

    def state(self):
        if self.h is None:
            return {}
        n = self.nvml
        out = {}
        for key, fn in (
            ("smClockMHz", lambda: n.nvmlDeviceGetClockInfo(self.h, n.NVML_CLOCK_SM)),
            ("memClockMHz", lambda: n.nvmlDeviceGetClockInfo(self.h, n.NVML_CLOCK_MEM)),
            ("powerLimitW", lambda: n.nvmlDeviceGetEnforcedPowerLimit(self.h) / 1000.0),
            ("temperatureC", lambda: n.nvmlDeviceGetTemperature(self.h, n.NVML_TEMPERATURE_GPU)),
            ("throttleReasons", lambda: n.nvmlDeviceGetCurrentClocksThrottleReasons(self.h)),
        ):
            try:
                out[key] = fn()
            except Exception:  # noqa: BLE001
                pass
        return out


def torch_time(torch, fn, reps=30, warmup=5):
    """Median seconds of fn() by CUDA events, one event pair per call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(times)


def ceilings(torch):
    n = 1 << 29  # 1 GiB of bf16 each way: far past L2
    x = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    y = torch.empty_like(x)
    t = torch_time(torch, lambda: y.copy_(x), reps=20)
    copy_gbs = 2 * x.numel() * 2 / t / 1e9
    del x, y
    m = 8192
    a = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    t = torch_time(torch, lambda: torch.mm(a, b), reps=20)
    mm_tflops = 2 * m**3 / t / 1e12
    del a, b
    torch.cuda.empty_cache()
    return {"copyGBs": copy_gbs, "bf16MatmulTFLOPs": mm_tflops}


def etok_time(etok, energy, h, tokens, min_energy_s=1.0, reps=30):
    etok.run(h, 3)
    etok.sync(h)
    hot = []
    for _ in range(reps):
        etok.run(h, 1)
        hot.append(etok.last_seconds(h))
    cold = []
    for _ in range(max(5, reps // 3)):
        etok.flush(h)
        etok.run(h, 1)
        cold.append(etok.last_seconds(h))
    med = statistics.median(hot)
    calls = max(10, int(math.ceil(min_energy_s / max(med, 1e-6))))
    etok.sync(h)
    e0, t0 = energy.joules(), time.perf_counter()
    etok.run(h, calls)
    etok.sync(h)
    t1, e1 = time.perf_counter(), energy.joules()
    wall = (t1 - t0) / calls
    out = {"hotS": med, "hotMinS": min(hot), "coldS": statistics.median(cold), "backToBackS": wall, "calls": calls}
    if e0 is not None:
        j = (e1 - e0) / calls
        out.update({"joulesPerCall": j, "joulesPerToken": j / tokens, "avgPowerW": (e1 - e0) / (t1 - t0)})
    return out


# ---------------------------------------------------------------- cost formulas (FlashInfer / FlashMLA)

KV_BYTES_PER_ROW = {
    "bf16": lambda d: 2 * d,
    "f16": lambda d: 2 * d,
    "f32": lambda d: 4 * d,
    "kv-int8": lambda d: d + 2,
    "kv-fp8": lambda d: d + 2,
    "kv-int4": lambda d: d // 2 + 2 * ((d + 31) // 32),
}


def kv_key(variant, dtype):
    for kv in ("kv-int8", "kv-int4", "kv-fp8"):
        if kv in variant:
            return kv
    return dtype


def cost(variant, phase, dtype, s, p):
    """FLOPs and bytes of one call: FlashInfer (dense/GQA) or FlashMLA (mla); sparse counts the tokens it reads."""
    act = 4 if dtype == "f32" else 2
    rows = 1 if phase == "decode" else s["qLen"]
    kvb = KV_BYTES_PER_ROW[kv_key(variant, dtype)]
    tokens = s["kvLen"]
    if "sparse" in variant:  # sink + window + topK blocks (an upper bound at decode)
        bs = p.get("blockSize", 64)
        tokens = min(s["kvLen"], bs * (1 + p.get("topK", 16)) + p.get("window", 512) + bs)
    causal = 0.5 if phase == "prefill" and rows > 1 else 1.0
    if "mla" in variant:
        dk, dv = s["rank"] + s["ropeDim"], s["rank"]
        flops = 2 * s["batch"] * s["heads"] * rows * tokens * (dk + dv) * causal
        kv_bytes = s["batch"] * tokens * (kvb(s["rank"]) + kvb(s["ropeDim"]))
        qo = s["batch"] * s["heads"] * rows * (dk + dv) * act
    else:
        d = s["headDim"]
        flops = 4 * s["batch"] * s["heads"] * rows * tokens * d * causal
        kv_bytes = 2 * s["batch"] * s["kvHeads"] * tokens * kvb(d)
        qo = 2 * s["batch"] * s["heads"] * rows * d * act
    return flops, kv_bytes + qo


# ---------------------------------------------------------------- PyTorch SDPA (flash) on the same shapes


def sdpa_time(torch, s, phase):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    rows = 1 if phase == "decode" else s["qLen"]
    q = torch.randn(s["batch"], s["heads"], rows, s["headDim"], device="cuda", dtype=torch.bfloat16)
    k = torch.randn(s["batch"], s["kvHeads"], s["kvLen"], s["headDim"], device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    causal = phase == "prefill"
    note = "flash, enable_gqa"
    try:
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)  # noqa: E731
            fn()
            t = torch_time(torch, fn)
    except Exception as e:  # noqa: BLE001 - older torch or flash refusing GQA: expand K/V (more bytes; noted)
        g = s["heads"] // s["kvHeads"]
        k2, v2 = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        note = f"flash, K/V expanded to {s['heads']} heads ({type(e).__name__})"
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            fn = lambda: F.scaled_dot_product_attention(q, k2, v2, is_causal=causal)  # noqa: E731
            t = torch_time(torch, fn)
    del q, k, v
    torch.cuda.empty_cache()
    return t, note


# ---------------------------------------------------------------- the measurement plan


def plan(max_ctx):
    dense = {"batch": 8, "heads": 64, "kvHeads": 8, "headDim": 128}
    cases = []
    ctx = 512
    while ctx <= min(max_ctx, 32768):  # bandwidth curve: 64 kv-head-sequences in flight
        cases.append(("decode-curve", "dense", "decode", "bf16", dict(dense, kvLen=ctx), {}, True))
        ctx *= 2
    # The experimental token-split decode (decode_warp.cuh, ETOK_CUDA_PATH=warp) on the same shapes.
    for ctx in (2048, 8192, 16384, 32768):
        if ctx <= max_ctx:
            cases.append(("decode-curve-warp", "dense", "decode", "bf16", dict(dense, kvLen=ctx), {"path": "warp"}, False))
    # Split count at 8K (the heuristic's choice is the "auto" row of the curve above): is decode short of blocks?
    for n in (2, 4, 8, 16, 32):
        cases.append(("decode-8k-splits", "dense", "decode", "bf16", dict(dense, kvLen=8192), {"splits": n}, False))
    long = dict(dense, kvLen=16384)
    for v in ("kv-int8", "kv-fp8", "kv-int4", "sparse", "sparse+kv-int8"):
        cases.append(("decode-16k", v, "decode", "bf16", long, {}, False))
    for v in ("kv-int8", "kv-fp8", "kv-int4"):  # the experimental token-split decode on quantized caches
        cases.append(("decode-16k-warp", v, "decode", "bf16", long, {"path": "warp"}, False))
    cases.append(("decode-16k", "dense", "decode", "f32", long, {}, False))
    cases.append(("decode-16k-simt", "dense", "decode", "bf16", long, {"path": "simt"}, False))
    for heads in (128, 16):  # FlashMLA's benchmark shape: batch 128 (64 here), 4096 tokens
        s = {"batch": 64, "heads": heads, "rank": 512, "ropeDim": 64, "kvLen": 4096}
        for v in ("mla", "mla+kv-fp8", "mla+kv-int8"):
            cases.append((f"mla-decode-h{heads}", v, "decode", "bf16", s, {}, False))
    cases.append(("mla-decode-h128-simt", "mla", "decode", "bf16", {"batch": 64, "heads": 128, "rank": 512, "ropeDim": 64, "kvLen": 4096}, {"path": "simt"}, False))
    pre = {"batch": 4, "heads": 32, "kvHeads": 8, "headDim": 128, "qLen": 4096, "kvLen": 4096}
    cases.append(("prefill-4k", "dense", "prefill", "bf16", pre, {}, True))
    cases.append(("prefill-4k", "dense", "prefill", "f16", pre, {}, False))
    cases.append(("prefill-4k", "kv-fp8", "prefill", "bf16", pre, {}, False))
    cases.append(("prefill-4k", "sparse", "prefill", "bf16", pre, {}, False))
    cases.append(("mla-prefill-1k", "mla", "prefill", "bf16", {"batch": 1, "heads": 128, "rank": 512, "ropeDim": 64, "qLen": 1024, "kvLen": 1024}, {}, False))
    if max_ctx >= 65536:  # last: its host-side input generation and quantization alone take ~30-60 s
        cases.append(("decode-curve", "dense", "decode", "bf16", dict(dense, kvLen=65536), {}, True))
    return cases


def measure(build_dir, out_dir, max_ctx, torch, deadline):
    etok = Etok(build_dir)
    energy = Energy()
    prop = torch.cuda.get_device_properties(0)
    device = {
        "name": prop.name,
        "multiprocessors": prop.multi_processor_count,
        "memoryBytes": prop.total_memory,
        "computeCapability": f"{prop.major}.{prop.minor}",
        "driver": energy.driver,
        "torch": torch.__version__,
        "cudaRuntimeTorch": torch.version.cuda,
        "stateBefore": energy.state(),
    }
    log(f"device: {device}")
    ceil = ceilings(torch)
    log(f"ceilings: copy {ceil['copyGBs']:.0f} GB/s (read + write), bf16 matmul {ceil['bf16MatmulTFLOPs']:.0f} TFLOP/s")
    results = []
    complete = True
    for name, variant, phase, dtype, shape, opts, with_sdpa in plan(max_ctx):
        if time.time() > deadline:
            complete = False
            log(f"{name:<22} {variant:<16} {phase:<7} {dtype:<4} SKIPPED: time budget spent (--budget-s)")
            results.append({"case": name, "variant": variant, "phase": phase, "dtype": dtype, "shape": shape, "skipped": "time budget"})
            continue
        os.environ["ETOK_CUDA_PATH"] = opts.get("path", "auto")
        os.environ["ETOK_CUDA_SPLITS"] = str(opts.get("splits", 0))  # 0: the heuristic
        s = {"qLen": 1, "kvHeads": 1, "headDim": 128, "rank": 512, "ropeDim": 64, **shape}
        params = {"blockSize": 64, "topK": 16, "window": 512}
        row = {"case": name, "variant": variant, "phase": phase, "dtype": dtype, "shape": s, "params": params}
        tokens = s["batch"] * (1 if phase == "decode" else s["qLen"])
        try:
            t0 = time.time()
            h = etok.prepare(variant, phase, dtype, s, params, "uniform", 7)
            row["prepareS"] = time.time() - t0
            row["kernel"] = etok.describe(h)
            row.update(etok_time(etok, energy, h, tokens))
            etok.free(h)
        except Exception as e:  # noqa: BLE001 - record and go on
            row["error"] = str(e)
            results.append(row)
            log(f"{name:<22} {variant:<16} {phase:<7} {dtype:<4} ERROR {e}")
            continue
        flops, nbytes = cost(variant, phase, dtype, s, params)
        row.update({"flops": flops, "bytes": nbytes, "GBs": nbytes / row["hotS"] / 1e9, "TFLOPs": flops / row["hotS"] / 1e12})
        row["fracCopy"] = row["GBs"] / ceil["copyGBs"]
        row["fracMatmul"] = row["TFLOPs"] / ceil["bf16MatmulTFLOPs"]
        if with_sdpa:
            try:
                t, note = sdpa_time(torch, s, phase)
                row.update({"sdpaS": t, "sdpaNote": note, "vsSdpa": row["hotS"] / t})
            except Exception as e:  # noqa: BLE001
                row["sdpaError"] = str(e)
        results.append(row)
        log(
            f"{name:<22} {variant:<16} {phase:<7} {dtype:<4} ctx={s['kvLen']:<6} {row['hotS'] * 1e6:9.1f} us "
            f"(cold {row['coldS'] * 1e6:9.1f}) {row['GBs']:7.0f} GB/s {100 * row['fracCopy']:5.1f}% "
            f"{row['TFLOPs']:7.1f} TF/s {100 * row['fracMatmul']:5.1f}%"
            + (f" J/tok~ {row['joulesPerToken']:.3e}" if "joulesPerToken" in row else "")
            + (f" sdpa {row['sdpaS'] * 1e6:.1f} us x{row['vsSdpa']:.2f}" if "sdpaS" in row else "")
            + f"  [{row['kernel']}]"
        )
    os.environ.pop("ETOK_CUDA_PATH", None)
    os.environ.pop("ETOK_CUDA_SPLITS", None)
    # Levers against the dense bf16 baseline of the same shape: speedup beside the byte ratio it could reach.
    base = next((r for r in results if r["case"] == "decode-curve" and r["shape"].get("kvLen") == 16384 and "hotS" in r), None)
    if base:
        log("decode 16K vs dense bf16: speedup (byte ratio)")
        for r in results:
            if r["case"].startswith("decode-16k") and "hotS" in r:
                r["speedupVsDenseBf16"] = base["hotS"] / r["hotS"]
                r["byteRatioVsDenseBf16"] = base["bytes"] / r["bytes"]
                log(f"  {r['variant']:<16} {r['dtype']:<4} {r['case']:<16} x{r['speedupVsDenseBf16']:.2f} ({r['byteRatioVsDenseBf16']:.2f})")
    device["stateAfter"] = energy.state()
    energy_method = (
        "MEASURED, boundary: board. NVML nvmlDeviceGetTotalEnergyConsumption read before and after >= 1 s of "
        "back-to-back calls, NOT aligned to counter steps: each end may lag by one update period (~100 ms on H100), "
        "so J/call is good to about +-10%. For edge-aligned figures with a CI use `etok bench --meter nvml:N`."
    )
    log(f"energy (J/tok~): {energy_method}")
    return {"device": device, "ceilings": ceil, "energyMethod": energy_method, "measurements": results, "complete": complete}


def git_head():
    try:
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
        return r.stdout.strip() or None
    except OSError:  # no git on the device machine
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", os.path.join(HERE, "out")))
    ap.add_argument("--build-dir", default=os.path.join(HERE, "build"))
    ap.add_argument("--part", choices=("all", "validate", "measure"), default="all")
    ap.add_argument("--quick", action="store_true", help="validation: one split setting per case")
    ap.add_argument("--max-ctx", type=int, default=65536)
    ap.add_argument("--arch", default=None, help="CUDA architecture (default: from the device, 90a on Hopper)")
    ap.add_argument("--no-build", action="store_true", help="use the artifacts already in --build-dir (built on another "
                    "machine for this architecture: kernels/etok-cuda-validate and libetok_gpu_bench.so)")
    ap.add_argument("--commit", default=os.environ.get("ETOK_COMMIT"), help="the commit the artifacts were built from "
                    "(default: $ETOK_COMMIT, else git rev-parse HEAD)")
    ap.add_argument("--budget-s", type=float, default=540, help="stop starting new work after this many seconds "
                    "(a command may be stopped at its time limit; what finished is still written)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to PyTorch")
    arch = args.arch or arch_of(torch)
    report = {
        "schema": "etok.gpu-bench/v1",
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host": platform.node(),
        "arch": arch,
        "gitHead": args.commit or git_head(),
        "prebuilt": args.no_build,
    }
    if args.no_build:
        for need in ("libetok_gpu_bench.so", os.path.join("kernels", "etok-cuda-validate")):
            if not os.path.exists(os.path.join(args.build_dir, need)):
                sys.exit(f"--no-build: {os.path.join(args.build_dir, need)} is missing; build bench/gpu for {arch} first")
    elif not os.path.exists(os.path.join(args.build_dir, "libetok_gpu_bench.so")) or args.part != "measure":
        build(args.build_dir, arch, args.out)
    deadline = START + args.budget_s
    if args.part in ("all", "validate"):
        # Under --part all, leave the measurements at least 4 minutes.
        left = deadline - time.time() - (240 if args.part == "all" else 0)
        report["validation"] = validate(args.build_dir, args.out, args.quick, max(60.0, left))
    if args.part in ("all", "measure"):
        report.update(measure(args.build_dir, args.out, args.max_ctx, torch, deadline - 30))
    with open(os.path.join(args.out, "gpu-results.json"), "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {args.out}/gpu-results.json")
    if report.get("validation", {}).get("failures"):
        sys.exit(1)


if __name__ == "__main__":
    main()
