#!/usr/bin/env python3
"""Decode sweep for etok's CUDA kernels: validate the token-split decode paths, then time every candidate path,
variant and split rule at the target decode shapes beside the ceilings and PyTorch SDPA, in one device call.

Needs what run.py needs (PyTorch; libetok_gpu_bench.so and kernels/etok-cuda-validate built for the device, e.g.
by bench/gpu/stage.sh) and no Node. Run through device-run.sh (`bash bench/gpu/device-run.sh 440 sweep-decode`) or:

    python3 bench/gpu/sweep_decode.py --build-dir DIR --out "$OUT" --budget-s 420

Steps, each cut at the budget (what finished is written):
 1. validate  etok-cuda-validate --json --paths stream,warp: the stream decode (every variant, every KV format,
              dense and NSA-sparse, forced splits) and the warp decode against the fp64 references.
              → validate-decode.jsonl
 2. ceilings  device-to-device copy (read + write bytes) and bf16 torch.mm 8192³, as run.py measures them.
 3. sweep     at batch 8 × 64 query heads / 8 kv heads, head dim 128, bf16 (NSA: blocks of 64, top 16, window
              512): one input set per context, prepared once; each lever set (dense, kv-int8/fp8/int4, sparse,
              sparse+kv-*) conditioned from it; each candidate (the default path, the warp decode, every stream
              variant; then the split rule `best` and forced split counts for the fastest stream variant) re-planned
              on the uploaded cache (etok_replan), checked against the default path's output (relative L2 within
              the bf16 tolerance, every element written), and timed: hot = median of per-call CUDA-event times,
              cold = L2 flushed before each call. Contexts: 16K first (every lever set), then 8K, 4K, 32K, 2K, 1K,
              512 and 64K (dense; quantized at 4K and 32K), then f16 at 16K.
 4. SDPA      torch scaled_dot_product_attention at each dense shape, every backend (flash, efficient, cudnn,
              math), GQA through enable_gqa where the backend takes it, else K/V expanded (noted).
 5. breakdown torch.profiler's kernel times of one call of the sparse winners (selection, attention, combine),
              where the profiler sees the library's kernels.
Output: decode-sweep.json (device, driver, date, commit, ceilings, validation summary, every timing, winners and
the targets) and a short table printed last. Energy is not measured here: the winners go to `etok bench` / run.py.
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
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import run as base  # noqa: E402  (cost formulas, ceilings, the C ABI wrapper)

START = time.time()
SHAPE = {"batch": 8, "heads": 64, "kvHeads": 8, "headDim": 128, "qLen": 1, "rank": 512, "ropeDim": 64}
PARAMS = {"blockSize": 64, "topK": 16, "window": 512}
# dispatch_policy.h kStreamVariants, the default (kDefaultStreamVariant) first
VARIANTS = ["w4c16s4", "w4c16s2", "w4c16s3", "w4c32s2", "w4c32s3", "w8c16s3"]
TOLERANCE = {"bf16": 2.5e-2, "f16": 8e-3}
TARGETS = {"kv-int8": 1.7, "kv-fp8": 1.7, "kv-int4": 2.8, "sparse": 4.0, "sparse+kv-int8": 6.0}
log = base.log


class Etok(base.Etok):
    """run.py's wrapper plus the sweep's hooks: inputs shared across lever sets, re-planning, the output."""

    def __init__(self, build_dir):
        super().__init__(build_dir)
        lib = self.lib
        lib.etok_prepare_like.restype = ctypes.c_void_p
        lib.etok_prepare_like.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        for name in ("etok_replan", "etok_poison"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.etok_output_size.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_longlong)]
        lib.etok_output.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_longlong]

    def like(self, h, variant, dtype):
        out = self.lib.etok_prepare_like(h, variant.encode(), dtype.encode(), 0)
        if not out:
            raise RuntimeError(self.lib.etok_last_error().decode())
        return out

    def replan(self, h):
        self.ok(self.lib.etok_replan(h))

    def output(self, h):
        n = ctypes.c_longlong()
        self.ok(self.lib.etok_output_size(h, ctypes.byref(n)))
        buf = (ctypes.c_float * n.value)()
        self.ok(self.lib.etok_output(h, buf, n.value))
        return buf

    def poison(self, h):
        self.ok(self.lib.etok_poison(h))


def set_knobs(knobs):
    for key in ("ETOK_CUDA_PATH", "ETOK_CUDA_STREAM", "ETOK_CUDA_SPLITS", "ETOK_CUDA_SPLIT_RULE"):
        os.environ.pop(key, None)
    for key, value in knobs.items():
        os.environ[key] = str(value)


def rel_l2(a, b):
    """‖a − b‖ / ‖b‖ over the finite elements of a, and how many are not finite (unwritten after the poison)."""
    import numpy as np

    x, y = np.frombuffer(a, dtype=np.float32).astype(np.float64), np.frombuffer(b, dtype=np.float32).astype(np.float64)
    ok = np.isfinite(x)
    den = float(np.sum(y[ok] ** 2))
    return (math.sqrt(float(np.sum((x[ok] - y[ok]) ** 2)) / den) if den > 0 else 1.0), int((~ok).sum())


def time_calls(etok, h, reps=25, cold_reps=5):
    etok.run(h, 3)
    etok.sync(h)
    hot = []
    for _ in range(reps):
        etok.run(h, 1)
        hot.append(etok.last_seconds(h))
    cold = []
    for _ in range(cold_reps):
        etok.flush(h)
        etok.run(h, 1)
        cold.append(etok.last_seconds(h))
    return {"hotS": statistics.median(hot), "hotMinS": min(hot), "hotMaxS": max(hot), "coldS": statistics.median(cold)}


class Sweep:
    def __init__(self, etok, ceilings, deadline):
        self.etok, self.ceil, self.deadline = etok, ceilings, deadline
        self.rows = []

    def left(self):
        return self.deadline - time.time()

    def measure(self, h, lever, dtype, ctx, label, knobs, baseline):
        """Re-plans h under knobs, checks it against the baseline output, times it; one row."""
        s = dict(SHAPE, kvLen=ctx)
        row = {"lever": lever, "dtype": dtype, "kvLen": ctx, "candidate": label, "knobs": knobs}
        try:
            set_knobs(knobs)
            self.etok.replan(h)
            row["kernel"] = self.etok.describe(h)
            self.etok.poison(h)
            self.etok.run(h, 1)
            self.etok.sync(h)
            out = self.etok.output(h)
            if baseline is not None:
                row["relDiffVsDefault"], row["unwritten"] = rel_l2(out, baseline)
                row["valid"] = row["unwritten"] == 0 and row["relDiffVsDefault"] <= TOLERANCE[dtype]
            else:
                row["unwritten"] = rel_l2(out, out)[1]
                row["valid"] = row["unwritten"] == 0
            row.update(time_calls(self.etok, h))
            flops, nbytes = base.cost(lever, "decode", dtype, s, PARAMS)
            row.update({"bytes": nbytes, "GBs": nbytes / row["hotS"] / 1e9})
            row["fracCopy"] = row["GBs"] / self.ceil["copyGBs"]
        except Exception as e:  # noqa: BLE001 - a candidate that does not apply or fails is recorded, not fatal
            row["error"] = str(e)
            row["valid"] = False
        finally:
            set_knobs({})
        self.rows.append(row)
        status = "" if row.get("valid") else (" INVALID" if "error" not in row else f" ERROR {row['error'][:80]}")
        log(f"  {lever:<15} {dtype:<4} {ctx:>6} {label:<22} "
            + (f"{row['hotS'] * 1e6:8.1f} us (cold {row['coldS'] * 1e6:8.1f}) {100 * row['fracCopy']:5.1f}% copy"
               f" diff {row.get('relDiffVsDefault', 0):.1e}" if "hotS" in row else "")
            + status)
        return row

    def candidates(self, h, lever, dtype, ctx, splits_sweep):
        """The default path, warp, every stream variant; then rules and split counts for the best stream variant."""
        if self.left() < 5:
            return
        set_knobs({})
        default = self.measure(h, lever, dtype, ctx, "default", {}, None)
        baseline = self.etok.output(h) if default.get("valid") else None
        if "sparse" not in lever:
            self.measure(h, lever, dtype, ctx, "warp", {"ETOK_CUDA_PATH": "warp"}, baseline)
        stream = []
        for v in VARIANTS:
            if self.left() < 3:
                return
            stream.append(self.measure(h, lever, dtype, ctx, f"stream:{v}", {"ETOK_CUDA_PATH": "stream", "ETOK_CUDA_STREAM": v}, baseline))
        ok = [r for r in stream if r.get("valid") and "hotS" in r]
        if not ok or not splits_sweep:
            return
        best = min(ok, key=lambda r: r["hotS"])
        knobs = dict(best["knobs"])
        self.measure(h, lever, dtype, ctx, f"{best['candidate']}+best", dict(knobs, ETOK_CUDA_SPLIT_RULE="best"), baseline)
        for n in (1, 2, 3, 4, 6, 8, 12, 16):
            if self.left() < 3:
                return
            self.measure(h, lever, dtype, ctx, f"{best['candidate']}/{n}", dict(knobs, ETOK_CUDA_SPLITS=n), baseline)
        self.measure(h, lever, dtype, ctx, "default+best", {"ETOK_CUDA_SPLIT_RULE": "best"}, baseline)

    def context(self, ctx, levers, dtype="bf16", splits_sweep=False):
        """One input set at ctx; every lever set prepared from it and swept."""
        if self.left() < 15:
            log(f"ctx {ctx}: skipped (budget)")
            return
        t0 = time.time()
        s = dict(SHAPE, kvLen=ctx)
        try:
            root = self.etok.prepare("dense", "decode", dtype, s, PARAMS, "uniform", 7)
        except Exception as e:  # noqa: BLE001
            log(f"ctx {ctx}: prepare failed: {e}")
            return
        log(f"ctx {ctx} {dtype}: inputs prepared in {time.time() - t0:.1f} s")
        try:
            for lever in levers:
                if self.left() < 10:
                    log(f"  {lever} at {ctx}: skipped (budget)")
                    continue
                h = root if lever == "dense" else None
                try:
                    if h is None:
                        t1 = time.time()
                        h = self.etok.like(root, lever, dtype)
                        log(f"  {lever} conditioned in {time.time() - t1:.1f} s")
                    self.candidates(h, lever, dtype, ctx, splits_sweep and lever in ("dense", "kv-int8", "kv-int4", "sparse", "sparse+kv-int8"))
                except Exception as e:  # noqa: BLE001
                    log(f"  {lever} at {ctx}: {e}")
                finally:
                    if h is not None and h != root:
                        self.etok.free(h)
        finally:
            self.etok.free(root)


def sdpa_backends(torch, ctx):
    """Every SDPA backend at the dense decode shape: {backend: seconds or error}."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    s = dict(SHAPE, kvLen=ctx)
    q = torch.randn(s["batch"], s["heads"], 1, s["headDim"], device="cuda", dtype=torch.bfloat16)
    k = torch.randn(s["batch"], s["kvHeads"], ctx, s["headDim"], device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    out = {}
    for name in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH"):
        backend = getattr(SDPBackend, name, None)
        if backend is None:
            out[name.lower()] = {"error": "not in this torch"}
            continue
        try:
            with sdpa_kernel([backend]):
                fn = lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)  # noqa: E731
                fn()
                out[name.lower()] = {"s": base.torch_time(torch, fn, reps=20), "note": "enable_gqa"}
        except Exception as e:  # noqa: BLE001 - a backend refusing GQA: expand K/V (8x the bytes; noted)
            try:
                g = s["heads"] // s["kvHeads"]
                k2, v2 = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
                with sdpa_kernel([backend]):
                    fn = lambda: F.scaled_dot_product_attention(q, k2, v2)  # noqa: E731
                    fn()
                    out[name.lower()] = {"s": base.torch_time(torch, fn, reps=20), "note": f"K/V expanded ({type(e).__name__})"}
                del k2, v2
            except Exception as e2:  # noqa: BLE001
                out[name.lower()] = {"error": f"{type(e).__name__}: {str(e)[:120]}; expanded: {type(e2).__name__}: {str(e2)[:120]}"}
    del q, k, v
    torch.cuda.empty_cache()
    return out


def breakdown(torch, etok, lever, knobs):
    """Kernel times of one call (torch.profiler sees every kernel of the process through CUPTI), µs by kernel."""
    s = dict(SHAPE, kvLen=16384)
    h = etok.prepare(lever, "decode", "bf16", s, PARAMS, "uniform", 7)
    try:
        set_knobs(knobs)
        etok.replan(h)
        etok.run(h, 3)
        etok.sync(h)
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            etok.run(h, 5)
            etok.sync(h)
        kernels = {}
        for e in prof.key_averages():
            t = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
            if t and e.count:
                kernels[e.key[:90]] = t / 5  # µs per call
        return {"lever": lever, "knobs": knobs, "kernel": etok.describe(h), "usPerCall": kernels}
    finally:
        set_knobs({})
        etok.free(h)


def validate(build_dir, out_dir, timeout_s):
    exe = os.path.join(build_dir, "kernels", "etok-cuda-validate")
    cmd = [exe, "--json", "--paths", "stream,warp"]
    log("$", " ".join(cmd), f"(timeout {timeout_s:.0f} s)")
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        stdout, code, err = r.stdout, r.returncode, r.stderr
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code, err = 124, "timed out"
    with open(os.path.join(out_dir, "validate-decode.jsonl"), "w") as f:
        f.write(stdout)
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    fails = [x for x in rows if not x["pass"]]
    by = {}
    for x in rows:
        key = path_key(x["path"], x.get("streamVariant"))
        b = by.setdefault(key, {"cases": 0, "failures": 0, "worstPassing": 0.0})
        b["cases"] += 1
        b["failures"] += not x["pass"]
        if x["pass"]:
            b["worstPassing"] = max(b["worstPassing"], x["relErrorVsExact"])
    log(f"validate: {len(rows) - len(fails)}/{len(rows)} passed in {time.time() - t0:.0f} s (exit {code}) {err.strip()[-300:]}")
    for x in fails[:30]:
        log(f"  FAIL {x['variant']:<16} {x['dtype']:<4} {x['path']:<6} {x.get('streamVariant', ''):<8} splits={x['splits']} "
            f"kvLen={x['kvLen']} exact={x['relErrorVsExact']:.2e} nonfinite={x['nonFinite']} {x['error'][:100]}")
    return {"cases": len(rows), "failures": len(fails), "exit": code, "byPath": by,
            "failedPaths": sorted({path_key(x["path"], x.get("streamVariant")) for x in fails})}


def path_key(path, stream_variant):
    """One validation bucket: stream:<variant> (the default variant when none is named), warp, or the path itself."""
    return f"stream:{stream_variant or VARIANTS[0]}" if path == "stream" else path


def eligible(knobs, by_path):
    """The default path is the validated one; a token-split candidate needs passed cases and no failure here."""
    path = knobs.get("ETOK_CUDA_PATH")
    if not path:
        return True
    b = by_path.get(path_key(path, knobs.get("ETOK_CUDA_STREAM")))
    return bool(b) and b["cases"] > 0 and b["failures"] == 0


def winners(rows, by_path):
    """Fastest valid candidate per (lever, dtype, kvLen) among the eligible ones (see eligible)."""
    best = {}
    for r in rows:
        if not r.get("valid") or "hotS" not in r or not eligible(r["knobs"], by_path):
            continue
        k = (r["lever"], r["dtype"], r["kvLen"])
        if k not in best or r["hotS"] < best[k]["hotS"]:
            best[k] = r
    return best


def vs_sdpa(row, fastest):
    return f"{row['hotS'] / fastest:.2f}" if fastest else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", os.path.join(HERE, "out")))
    ap.add_argument("--build-dir", default=os.path.join(HERE, "build"))
    ap.add_argument("--budget-s", type=float, default=420, help="stop starting new work after this many seconds")
    ap.add_argument("--validate-s", type=float, default=110, help="time given to the validation step")
    ap.add_argument("--commit", default=os.environ.get("ETOK_COMMIT"))
    ap.add_argument("--max-ctx", type=int, default=65536)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to PyTorch")
    energy = base.Energy()  # for the driver version and clocks only
    prop = torch.cuda.get_device_properties(0)
    report = {
        "schema": "etok.decode-sweep/v1",
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host": platform.node(),
        "gitHead": args.commit or base.git_head(),
        "device": {"name": prop.name, "multiprocessors": prop.multi_processor_count, "memoryBytes": prop.total_memory,
                   "computeCapability": f"{prop.major}.{prop.minor}", "driver": energy.driver, "torch": torch.__version__,
                   "cudaRuntimeTorch": torch.version.cuda, "stateBefore": energy.state()},
        "shape": SHAPE, "params": PARAMS,
    }
    log(f"device: {report['device']}  commit {report['gitHead']}")
    deadline = START + args.budget_s
    report["validation"] = validate(args.build_dir, args.out, min(args.validate_s, max(30.0, deadline - time.time() - 240)))
    invalid = set(report["validation"]["failedPaths"])
    report["ceilings"] = base.ceilings(torch)
    ceil = report["ceilings"]
    log(f"ceilings: copy {ceil['copyGBs']:.0f} GB/s (read + write), bf16 matmul {ceil['bf16MatmulTFLOPs']:.0f} TFLOP/s")

    etok = Etok(args.build_dir)
    sweep = Sweep(etok, ceil, deadline - 20)
    quantized = ["kv-int8", "kv-fp8", "kv-int4"]
    sparse = ["sparse", "sparse+kv-int8", "sparse+kv-fp8", "sparse+kv-int4"]
    sweep.context(16384, ["dense"] + quantized + sparse, splits_sweep=True)
    sweep.context(8192, ["dense"], splits_sweep=True)
    for ctx in (4096, 32768):
        sweep.context(ctx, ["dense"] + quantized)
    for ctx in (2048, 1024, 512):
        sweep.context(ctx, ["dense"])
    sdpa = {}
    for ctx in (16384, 8192, 4096, 32768, 2048, 1024, 512):
        if sweep.left() > 20:
            sdpa[ctx] = sdpa_backends(torch, ctx)
            log(f"  sdpa {ctx:>6}: " + ", ".join(f"{k} {v['s'] * 1e6:.1f} us" if "s" in v else f"{k} -" for k, v in sdpa[ctx].items()))
    sweep.context(16384, ["dense", "kv-int8", "kv-fp8"], dtype="f16")
    if args.max_ctx >= 65536:  # last: its inputs alone take ~30 s of host time
        sweep.context(65536, ["dense"])
        if sweep.left() > 20:
            sdpa[65536] = sdpa_backends(torch, 65536)
    report["measurements"] = sweep.rows
    report["sdpa"] = {str(k): v for k, v in sdpa.items()}

    best = winners(sweep.rows, report["validation"]["byPath"])
    report["winners"] = [{"lever": k[0], "dtype": k[1], "kvLen": k[2], "candidate": r["candidate"], "knobs": r["knobs"],
                          "hotS": r["hotS"], "fracCopy": r["fracCopy"], "kernel": r.get("kernel")} for k, r in sorted(best.items())]
    report["breakdown"] = []
    for lever in ("sparse", "sparse+kv-int8"):
        w = best.get((lever, "bf16", 16384))
        if w and sweep.left() > 15:
            try:
                report["breakdown"].append(breakdown(torch, etok, lever, w["knobs"]))
            except Exception as e:  # noqa: BLE001
                report["breakdown"].append({"lever": lever, "error": str(e)})
    # Targets, against the fastest valid dense bf16 decode at the same context.
    dense16 = best.get(("dense", "bf16", 16384))
    targets = []
    for ctx in sorted({k[2] for k in best if k[0] == "dense" and k[1] == "bf16"}):
        w = best[("dense", "bf16", ctx)]
        fastest = min((v["s"] for v in sdpa.get(ctx, {}).values() if "s" in v), default=None)
        targets.append({"target": f"dense bf16 {ctx}: >= 90% of copy BW (at >= 8K)", "value": w["fracCopy"],
                        "met": w["fracCopy"] >= 0.90 if ctx >= 8192 else None})
        if fastest:
            targets.append({"target": f"dense bf16 {ctx}: not slower than the fastest SDPA backend", "value": w["hotS"] / fastest,
                            "met": w["hotS"] <= fastest})
    for lever, need in TARGETS.items():
        w = best.get((lever, "bf16", 16384))
        if w and dense16:
            x = dense16["hotS"] / w["hotS"]
            targets.append({"target": f"{lever} 16K: >= {need}x dense bf16", "value": x, "met": x >= need})
    report["targets"] = targets
    report["device"]["stateAfter"] = energy.state()
    report["elapsedS"] = time.time() - START
    with open(os.path.join(args.out, "decode-sweep.json"), "w") as f:
        json.dump(report, f, indent=1)

    # The short table, last.
    log(f"\n== decode sweep ({report['device']['name']}, commit {str(report['gitHead'])[:12]}, {time.time() - START:.0f} s) "
        f"copy {ceil['copyGBs']:.0f} GB/s, bf16 mm {ceil['bf16MatmulTFLOPs']:.0f} TFLOP/s; validation "
        f"{report['validation']['cases'] - report['validation']['failures']}/{report['validation']['cases']}"
        + (f" FAILED: {', '.join(report['validation']['failedPaths'])}" if invalid else ""))
    log(f"{'lever':<15} {'dt':<4} {'ctx':>6} {'default us':>10} {'best us':>9} {'%copy':>6} {'/sdpa':>6}  winner")
    for k, r in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        d = next((x for x in sweep.rows if (x["lever"], x["dtype"], x["kvLen"]) == k and x["candidate"] == "default" and "hotS" in x), None)
        fastest = min((v["s"] for v in sdpa.get(k[2], {}).values() if "s" in v), default=None) if k[:2] == ("dense", "bf16") else None
        log(f"{k[0]:<15} {k[1]:<4} {k[2]:>6} {d['hotS'] * 1e6 if d else float('nan'):>10.1f} {r['hotS'] * 1e6:>9.1f} "
            f"{100 * r['fracCopy']:>6.1f} {vs_sdpa(r, fastest):>6}  {r['candidate']}")
    bw = [t for t in targets if "copy BW" in t["target"] and t["met"] is not None]
    vs = [t for t in targets if "SDPA" in t["target"]]
    if bw:
        log(f"  {'MET ' if all(t['met'] for t in bw) else 'MISS'} dense bf16 >= 90% of copy BW at >= 8K: "
            + ", ".join(f"{t['target'].split()[2].rstrip(':')} {100 * t['value']:.0f}%" for t in bw))
    if vs:
        log(f"  {'MET ' if all(t['met'] for t in vs) else 'MISS'} dense bf16 never slower than the fastest SDPA backend: "
            + ", ".join(f"{t['target'].split()[2].rstrip(':')} x{t['value']:.2f}" for t in vs))
    for t in targets:
        if "copy BW" not in t["target"] and "SDPA" not in t["target"]:
            log(f"  {'MET ' if t['met'] else 'MISS'} {t['target']}: {t['value']:.2f}")
    log(f"wrote {args.out}/decode-sweep.json and validate-decode.jsonl")


if __name__ == "__main__":
    main()
