#!/usr/bin/env python3
"""Emulation of the SIMT split-KV kernel (src/cuda/decode_split_kv.cuh) and the NSA selection kernel
(src/cuda/sparse_select.cuh) in numpy, lane by lane, without a GPU: python3 packages/kernels/test/cuda/emulate_simt.py

SIMT: head chunks, lanes-per-token groups and their xor-shuffle reductions, warp slots, the strided token loop with
its warp-uniform trip count, the sparse block list, the slot and warp merges, splits and the combine step.
Selection: candidate keys (order-preserving float bits, index), the bitonic sort, sink ∪ window ∪ top-k, the bit
mask and the ascending list, against a direct implementation of the rule of docs/spec.md §3 (ties to the lower index,
window 0 with per-token means in prefill). Values stay float64 (no dequantization, no rounding), so attention
matches to ~1e-15 and selections exactly. Mirrors the CUDA code: keep the two in step. Exit 0 when all match.
"""
import struct
import sys

import numpy as np

rng = np.random.default_rng(2)
LOG2E = 1.4426950408889634
WARPS = 4


# ---------------------------------------------------------------- SIMT split-KV


def simt(a, UK, UV, HC):
    """Emulates simtAttention over the whole grid, then combineSplits; returns out [batch, heads, rows, dv]."""
    lpt = a["lpt"]
    slots = 32 // lpt
    G, rows, dk, dv, S = a["groupHeads"], a["rows"], a["dk"], a["dv"], a["splits"]
    chunks = (G + HC - 1) // HC
    out = np.full((a["batch"], a["heads"], rows, dv), np.nan)
    part = {}
    for bx in range(rows * chunks):
        r, hc = bx // chunks, bx % chunks
        for bg in range(a["batch"] * a["groups"]):
            b, g = bg // a["groups"], bg % a["groups"]
            vis = a["kvLen"] - a["qLen"] + r + 1 if a["prefill"] else a["kvLen"]
            selRow = bg * rows + r
            logical = len(a["list"][selRow]) * a["bs"] if a["sparse"] else vis
            share = (logical + S - 1) // S
            for z in range(S):
                begin, end = z * share, min(logical, z * share + share)
                warp_state = []
                for w in range(WARPS):
                    # per lane: q[h][u][8], m[h], l[h], acc[h][u][8]
                    q = np.zeros((32, HC, UK, 8))
                    for lane in range(32):
                        sl = lane % lpt
                        for h in range(HC):
                            hg = hc * HC + h
                            for u in range(UK):
                                d0 = (sl + lpt * u) * 8
                                if hg < G and d0 < dk:
                                    q[lane, h, u] = a["q"][b, g * G + hg, r, d0:d0 + 8] * a["scaleLog2"]
                    m = np.full((32, HC), -np.inf)
                    l = np.zeros((32, HC))
                    acc = np.zeros((32, HC, UV, 8))
                    i0 = begin + w * slots
                    while i0 < end:
                        k = np.zeros((32, UK, 8))
                        v = np.zeros((32, UV, 8))
                        valid = np.zeros(32, bool)
                        for lane in range(32):
                            slot, sl = lane // lpt, lane % lpt
                            i = i0 + slot
                            t, ok = i, i < end
                            if a["sparse"] and ok:
                                blk = a["list"][selRow][i // a["bs"]]
                                t = blk * a["bs"] + i % a["bs"]
                                ok = t < vis
                            valid[lane] = ok
                            for u in range(UK):
                                d0 = (sl + lpt * u) * 8
                                if ok and d0 < dk:
                                    k[lane, u] = a["k"][bg, t, d0:d0 + 8]
                            for u in range(UV):
                                d0 = (sl + lpt * u) * 8
                                if a["mla"]:
                                    v[lane, u] = k[lane, u] if d0 < dv else 0
                                elif ok and d0 < dv:
                                    v[lane, u] = a["v"][bg, t, d0:d0 + 8]
                        for h in range(HC):
                            s = (q[:, h] * k).sum(axis=(1, 2))
                            off = lpt >> 1
                            while off > 0:  # __shfl_xor_sync within the lane group
                                s = s + s[np.arange(32) ^ off]
                                off >>= 1
                            for lane in range(32):
                                if valid[lane]:
                                    mNew = max(m[lane, h], s[lane])
                                    c, p = 2.0 ** (m[lane, h] - mNew), 2.0 ** (s[lane] - mNew)
                                    l[lane, h] = l[lane, h] * c + p
                                    m[lane, h] = mNew
                                    acc[lane, h] = acc[lane, h] * c + p * v[lane]
                        i0 += WARPS * slots
                    off = lpt
                    while off < 32:  # merge the warp's token slots
                        idx = np.arange(32) ^ off
                        m2, l2, o2 = m[idx].copy(), l[idx].copy(), acc[idx].copy()
                        for lane in range(32):
                            for h in range(HC):
                                mNew = max(m[lane, h], m2[lane, h])
                                if mNew == -np.inf:
                                    c1, c2 = 1.0, 0.0
                                else:
                                    c1, c2 = 2.0 ** (m[lane, h] - mNew), 2.0 ** (m2[lane, h] - mNew)
                                    l[lane, h] = l[lane, h] * c1 + l2[lane, h] * c2
                                    m[lane, h] = mNew
                                acc[lane, h] = acc[lane, h] * c1 + o2[lane, h] * c2
                        off <<= 1
                    sAcc = np.zeros((HC, dv))
                    for lane in range(32):
                        if lane // lpt == 0:
                            for h in range(HC):
                                for u in range(UV):
                                    d0 = (lane % lpt + lpt * u) * 8
                                    if d0 < dv:
                                        sAcc[h, d0:d0 + 8] = acc[lane, h, u]
                    warp_state.append((m[0].copy(), l[0].copy(), sAcc))
                for h in range(HC):
                    hg = hc * HC + h
                    if hg >= G:
                        continue
                    mm = max(ws[0][h] for ws in warp_state)
                    ll, o = 0.0, np.zeros(dv)
                    if mm != -np.inf:
                        for ws in warp_state:
                            c = 2.0 ** (ws[0][h] - mm)
                            ll += ws[1][h] * c
                            o += ws[2][h] * c
                    if S == 1:
                        out[b, g * G + hg, r] = o / ll
                    else:
                        part[(b, g * G + hg, r, z)] = (mm, ll, o)
    if S > 1:
        for (b, h, r) in {(k[0], k[1], k[2]) for k in part}:
            ps = [part[(b, h, r, z)] for z in range(S)]
            mm = max(p[0] for p in ps)
            ll = sum(p[1] * 2.0 ** (p[0] - mm) for p in ps if p[1] > 0)
            out[b, h, r] = sum(p[2] * 2.0 ** (p[0] - mm) for p in ps if p[1] > 0) / ll
    return out


def reference(a):
    out = np.zeros((a["batch"], a["heads"], a["rows"], a["dv"]))
    for b in range(a["batch"]):
        for h in range(a["heads"]):
            g = h // a["groupHeads"]
            bg = b * a["groups"] + g
            for r in range(a["rows"]):
                vis = a["kvLen"] - a["qLen"] + r + 1 if a["prefill"] else a["kvLen"]
                if a["sparse"]:
                    toks = [t for blk in a["list"][bg * a["rows"] + r] for t in range(blk * a["bs"], min(vis, blk * a["bs"] + a["bs"]))]
                else:
                    toks = list(range(vis))
                sc = a["k"][bg, toks] @ a["q"][b, h, r] * a["scale"]
                p = np.exp(sc - sc.max())
                p /= p.sum()
                vals = a["k"][bg, toks, :a["dv"]] if a["mla"] else a["v"][bg, toks]
                out[b, h, r] = p @ vals
    return out


# ---------------------------------------------------------------- NSA selection


def ordered_bits(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    return (~u & 0xFFFFFFFF) if (u & 0x80000000) else (u | 0x80000000)


def select_kernel(qsum, means_for, nBlocks, visible, bs, window, topK, cap):
    """Mirrors selectBlocks for one row: keys, bitonic sort, membership; returns (mask bits, list)."""
    NONE = (1 << 64) - 1
    fwb = max(0, visible - window) // bs if window > 0 else nBlocks
    keys = []
    for j in range(cap):
        if j < nBlocks and j != 0 and j < fwb:
            score = float(np.float32(qsum @ means_for(j)))
            keys.append(((~ordered_bits(score) & 0xFFFFFFFF) << 32) | j)
        else:
            keys.append(NONE)
    cand = max(0, min(nBlocks, fwb) - 1)
    if cand > topK:
        k = 2
        while k <= cap:
            j = k >> 1
            while j > 0:
                for i in range(cap):
                    ixj = i ^ j
                    if ixj > i and ((keys[i] > keys[ixj]) == ((i & k) == 0)):
                        keys[i], keys[ixj] = keys[ixj], keys[i]
                j >>= 1
            k <<= 1
    chosen = set()
    if cand > topK:
        chosen |= {keys[i] & 0xFFFFFFFF for i in range(min(cand, topK))}
    else:
        chosen |= set(range(1, min(nBlocks, fwb)))
    chosen |= {j for j in range(nBlocks) if j == 0 or j >= fwb}
    return sorted(chosen)


def select_reference(qsum, means_for, nBlocks, visible, bs, window, topK):
    chosen = {0}
    if window > 0:
        chosen |= set(range(max(0, visible - window) // bs, nBlocks))
    cands = [(float(np.float32(qsum @ means_for(j))), j) for j in range(nBlocks) if j not in chosen]
    cands.sort(key=lambda c: (-c[0], c[1]))
    chosen |= {j for _, j in cands[:topK]}
    return sorted(chosen)


def main():
    failures = 0

    def check(label, ok, detail=""):
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label} {detail}")

    for mla in (False, True):
        for prefill in (False, True):
            for sparse in (False, True):
                for splits in ((1, 3) if not prefill else (1,)):
                    batch, kvLen, bs = 2, 77, 16
                    qLen = 5 if prefill else 1
                    if mla:
                        heads, groups, dk, dv, UK, UV, HC = 5, 1, 576, 512, 3, 2, 2
                    else:
                        heads, groups, dk, dv, UK, UV, HC = 6, 2, 128, 128, 1, 1, 4
                    G = heads // groups
                    lpt = min(32, max(4, 1 << max(0, int(np.ceil(np.log2(max(-(-dk // 8 // UK), -(-dv // 8 // UV))))))))
                    a = dict(batch=batch, heads=heads, groups=groups, groupHeads=G, rows=qLen, qLen=qLen, kvLen=kvLen,
                             prefill=prefill, sparse=sparse, splits=splits, mla=mla, bs=bs, dk=dk, dv=dv, lpt=lpt)
                    a["q"] = rng.standard_normal((batch, heads, qLen, dk))
                    a["k"] = rng.standard_normal((batch * groups, kvLen, dk))
                    a["v"] = None if mla else rng.standard_normal((batch * groups, kvLen, dv))
                    a["scale"] = 1 / np.sqrt(192 if mla else dk)
                    a["scaleLog2"] = a["scale"] * LOG2E
                    a["list"] = []
                    for row in range(batch * groups * qLen):
                        vis = kvLen - qLen + row % qLen + 1 if prefill else kvLen
                        nb = (vis + bs - 1) // bs
                        a["list"].append([j for j in range(nb) if j == 0 or rng.random() < 0.4])
                    out, ref = simt(a, UK, UV, HC), reference(a)
                    err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
                    check(f"simt mla={mla!s:<5} prefill={prefill!s:<5} sparse={sparse!s:<5} splits={splits} lanes/token={lpt}",
                          err < 1e-12 and not np.isnan(out).any(), f"rel err {err:.2e}")

    for trial in range(300):
        bs = int(rng.choice([4, 8, 16]))
        kvLen = int(rng.integers(1, 200))
        visible = int(rng.integers(1, kvLen + 1))
        nBlocks = (visible + bs - 1) // bs
        window = int(rng.choice([0, 1, 7, 20, 50, 500]))
        topK = int(rng.integers(0, 8))
        dim = 8
        qsum = rng.standard_normal(dim).astype(np.float32)
        means = rng.standard_normal((nBlocks, dim)).astype(np.float32)
        if trial % 5 == 0 and nBlocks > 3:  # exact ties: equal means for two blocks
            means[2] = means[1]
        cap = 1
        while cap < (kvLen + bs - 1) // bs:
            cap <<= 1
        got = select_kernel(qsum, lambda j: means[j], nBlocks, visible, bs, window, topK, cap)
        want = select_reference(qsum, lambda j: means[j], nBlocks, visible, bs, window, topK)
        if got != want:
            check(f"select trial {trial}", False, f"got {got} want {want}")
    if not failures:
        check("select: 300 random rows (block sizes, windows incl. 0, topK incl. 0, exact ties)", True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
