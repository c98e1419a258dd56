#!/usr/bin/env python3
"""Lane-level emulation of the tensor-core kernel (src/cuda/prefill_mma.cuh, mmaAttention + combine.cuh) in numpy.

Runs without a GPU (python3 packages/kernels/test/cuda/emulate_mma.py; numpy only) and checks the kernel's index
logic against a plain softmax reference: packed GQA rows, tile and split ranges, the DS-slice score reduction
through shared memory, causal / length / NSA masks and tile skipping, the online softmax with -inf rows, the P
re-packing as the A operand, the V fragments of ldmatrix.x2.trans, the epilogue and the combine step. It assumes the
PTX fragment layouts of mma.m16n8k16 (A/B/C per groupID = lane >> 2, threadID_in_group = lane & 3) and ldmatrix
.trans, which it implements literally; it does not emulate dequantization or the bf16/f16 rounding (values stay
float64), so the expected error is ~1e-16. Keep it in step with prefill_mma.cuh: it mirrors that code line by line.
Exit 0 when every case matches, 1 otherwise.
"""
import sys

import numpy as np

rng = np.random.default_rng(1)
LOG2E = 1.4426950408889634


def mma16816(d, a, b0, b1):
    """d: [32,4]; a: [4][32,2]; b0,b1: [32,2]. PTX m16n8k16 row.col layouts."""
    A = np.zeros((16, 16), np.float64)
    B = np.zeros((16, 8), np.float64)
    C = np.zeros((16, 8), np.float64)
    for l in range(32):
        g, t = l >> 2, l & 3
        A[g, 2 * t:2 * t + 2] = a[0][l]
        A[g + 8, 2 * t:2 * t + 2] = a[1][l]
        A[g, 2 * t + 8:2 * t + 10] = a[2][l]
        A[g + 8, 2 * t + 8:2 * t + 10] = a[3][l]
        B[2 * t:2 * t + 2, g] = b0[l]
        B[2 * t + 8:2 * t + 10, g] = b1[l]
        C[g, 2 * t:2 * t + 2] = d[l, 0:2]
        C[g + 8, 2 * t:2 * t + 2] = d[l, 2:4]
    D = A @ B + C
    for l in range(32):
        g, t = l >> 2, l & 3
        d[l, 0:2] = D[g, 2 * t:2 * t + 2]
        d[l, 2:4] = D[g + 8, 2 * t:2 * t + 2]


def ldmatrix_x2_trans(smem, rows, col):
    """rows[l] (l < 16): smem row each lane addresses, 8 elements from col. Returns b0, b1 [32,2]."""
    M = [np.stack([smem[rows[m * 8 + i], col:col + 8] for i in range(8)]) for m in range(2)]
    out = []
    for m in range(2):
        r = np.zeros((32, 2))
        for t in range(32):
            r[t] = (M[m][2 * (t % 4), t // 4], M[m][2 * (t % 4) + 1, t // 4])
        out.append(r)
    return out


def run_kernel(a, DK, DV, RT, DS, NTOK, MLA):
    """a: dict of problem + inputs. Emulates every block of the grid, then combine."""
    G, rows, groups = a["groupHeads"], a["rows"], a["groups"]
    P = rows * G
    gridx = (P + 16 * RT - 1) // (16 * RT)
    KS, VN, SN = DK // DS // 16, DV // DS // 8, NTOK // 8
    out = np.full((a["batch"], a["heads"], rows, DV), np.nan)
    partO = np.full((a["batch"] * a["heads"] * rows * a["splits"], DV), np.nan)
    partML = np.full((a["batch"] * a["heads"] * rows * a["splits"], 2), np.nan)

    def visible(r):
        return a["kvLen"] - a["qLen"] + r + 1 if a["prefill"] else a["kvLen"]

    def packed(b, g, pr):
        valid = pr < P
        prc = pr if valid else 0
        r = prc // G
        head = g * G + prc % G
        return dict(valid=valid, r=r, head=head, visible=visible(r) if valid else 0, selRow=(b * groups + g) * rows + r)

    def allowed(row, t):
        return t < row["visible"] and (not a["sparse"] or a["sel"][row["selRow"]][t // a["bs"]])

    for bx in range(gridx):
        for bg in range(a["batch"] * groups):
            b, g = bg // groups, bg % groups
            for z in range(a["splits"]):
                pr0 = bx * 16 * RT
                lastPr = min(pr0 + 16 * RT, P) - 1
                maxVis = visible(lastPr // G)
                nTiles = (maxVis + NTOK - 1) // NTOK
                per = (nTiles + a["splits"] - 1) // a["splits"]
                tb, te = z * per, min(nTiles, z * per + per)
                # per warp state
                W = RT * DS
                st = []
                for w in range(W):
                    rt, cs = w // DS, w % DS
                    rowsA = [packed(b, g, pr0 + rt * 16 + (l >> 2)) for l in range(32)]
                    rowsB = [packed(b, g, pr0 + rt * 16 + (l >> 2) + 8) for l in range(32)]
                    qf = []
                    for ks in range(KS):
                        regs = [np.zeros((32, 2)) for _ in range(4)]
                        for l in range(32):
                            k0 = cs * (DK // DS) + ks * 16 + 2 * (l & 3)
                            for ri, (row, kk) in enumerate(((rowsA[l], k0), (rowsB[l], k0), (rowsA[l], k0 + 8), (rowsB[l], k0 + 8))):
                                if row["valid"]:
                                    regs[ri][l] = a["q"][b, row["head"], row["r"], kk:kk + 2]
                        qf.append(regs)
                    st.append(dict(rt=rt, cs=cs, A=rowsA, B=rowsB, qf=qf, o=np.zeros((VN, 32, 4)),
                                   mA=np.full(32, -np.inf), mB=np.full(32, -np.inf), lA=np.zeros(32), lB=np.zeros(32)))
                for tile in range(tb, te):
                    t0 = tile * NTOK
                    if a["sparse"]:
                        anyrow = False
                        for s_ in st:
                            for l in range(32):
                                for row in (s_["A"][l], s_["B"][l]):
                                    last = min(t0 + NTOK, row["visible"]) - 1
                                    if last >= t0 and any(a["sel"][row["selRow"]][blk] for blk in range(t0 // a["bs"], last // a["bs"] + 1)):
                                        anyrow = True
                        if not anyrow:
                            continue
                    Ks = np.zeros((NTOK, DK + 8))
                    Vs = np.zeros((NTOK, DV + 8))
                    for tok in range(NTOK):
                        t = t0 + tok
                        if t < a["kvLen"]:
                            Ks[tok, :DK] = a["k"][bg, t]
                            if not MLA:
                                Vs[tok, :DV] = a["v"][bg, t]
                    if MLA:
                        Vs = Ks
                    S = []
                    for s_ in st:
                        s = np.zeros((SN, 32, 4))
                        for j in range(SN):
                            for ks in range(KS):
                                b0 = np.zeros((32, 2)); b1 = np.zeros((32, 2))
                                for l in range(32):
                                    kc = s_["cs"] * (DK // DS) + 2 * (l & 3) + ks * 16
                                    b0[l] = Ks[j * 8 + (l >> 2), kc:kc + 2]
                                    b1[l] = Ks[j * 8 + (l >> 2), kc + 8:kc + 10]
                                mma16816(s[j], s_["qf"][ks], b0, b1)
                        S.append(s)
                    if DS > 1:  # Sred
                        red = np.zeros((RT, DS, 16, NTOK))
                        for w, s_ in enumerate(st):
                            for j in range(SN):
                                for l in range(32):
                                    gid, tig = l >> 2, l & 3
                                    c = j * 8 + 2 * tig
                                    red[s_["rt"], s_["cs"], gid, c:c + 2] = S[w][j, l, 0:2]
                                    red[s_["rt"], s_["cs"], gid + 8, c:c + 2] = S[w][j, l, 2:4]
                        for w, s_ in enumerate(st):
                            for j in range(SN):
                                for l in range(32):
                                    gid, tig = l >> 2, l & 3
                                    c = j * 8 + 2 * tig
                                    tot = red[s_["rt"]].sum(axis=0)
                                    S[w][j, l, 0:2] = tot[gid, c:c + 2]
                                    S[w][j, l, 2:4] = tot[gid + 8, c:c + 2]
                    for w, s_ in enumerate(st):
                        s = S[w]
                        for j in range(SN):
                            for l in range(32):
                                t = t0 + j * 8 + 2 * (l & 3)
                                for e in range(4):
                                    row = s_["A"][l] if e < 2 else s_["B"][l]
                                    s[j, l, e] = s[j, l, e] * a["scaleLog2"] if allowed(row, t + (e & 1)) else -np.inf
                        mxA = s[:, :, 0:2].max(axis=(0, 2)); mxB = s[:, :, 2:4].max(axis=(0, 2))
                        mxA = np.array([mxA[(l & ~3):(l & ~3) + 4].max() for l in range(32)])
                        mxB = np.array([mxB[(l & ~3):(l & ~3) + 4].max() for l in range(32)])
                        mNA = np.maximum(s_["mA"], mxA); mNB = np.maximum(s_["mB"], mxB)
                        with np.errstate(invalid="ignore"):
                            cA = np.where(mNA == -np.inf, 1.0, np.exp2(s_["mA"] - mNA))
                            cB = np.where(mNB == -np.inf, 1.0, np.exp2(s_["mB"] - mNB))
                        subA = np.where(mNA == -np.inf, 0, mNA); subB = np.where(mNB == -np.inf, 0, mNB)
                        s_["mA"], s_["mB"] = mNA, mNB
                        s[:, :, 0:2] = np.exp2(s[:, :, 0:2] - subA[None, :, None])
                        s[:, :, 2:4] = np.exp2(s[:, :, 2:4] - subB[None, :, None])
                        s_["lA"] = s_["lA"] * cA + s[:, :, 0:2].sum(axis=(0, 2))
                        s_["lB"] = s_["lB"] * cB + s[:, :, 2:4].sum(axis=(0, 2))
                        s_["o"][:, :, 0:2] *= cA[None, :, None]
                        s_["o"][:, :, 2:4] *= cB[None, :, None]
                        for kk in range(NTOK // 16):
                            pa = [s[2 * kk, :, 0:2], s[2 * kk, :, 2:4], s[2 * kk + 1, :, 0:2], s[2 * kk + 1, :, 2:4]]
                            for j in range(VN):
                                col = s_["cs"] * (DV // DS) + j * 8
                                rows16 = [kk * 16 + (l & 15) for l in range(32)]
                                b0, b1 = ldmatrix_x2_trans(Vs, rows16, col)
                                mma16816(s_["o"][j], pa, b0, b1)
                for s_ in st:
                    lA = np.array([s_["lA"][(l & ~3):(l & ~3) + 4].sum() for l in range(32)])
                    lB = np.array([s_["lB"][(l & ~3):(l & ~3) + 4].sum() for l in range(32)])
                    for half in range(2):
                        for l in range(32):
                            row = packed(b, g, pr0 + s_["rt"] * 16 + (l >> 2) + 8 * half)
                            if not row["valid"]:
                                continue
                            m = (s_["mB"] if half else s_["mA"])[l]; lv = (lB if half else lA)[l]
                            qRow = (b * a["heads"] + row["head"]) * rows + row["r"]
                            for j in range(VN):
                                d = s_["cs"] * (DV // DS) + 2 * (l & 3) + j * 8
                                vals = s_["o"][j, l, 2 * half:2 * half + 2]
                                if a["splits"] == 1:
                                    out[b, row["head"], row["r"], d:d + 2] = vals / lv
                                else:
                                    partO[qRow * a["splits"] + z, d:d + 2] = vals
                            if a["splits"] > 1 and s_["cs"] == 0 and (l & 3) == 0:
                                partML[qRow * a["splits"] + z] = (m, lv)
    if a["splits"] > 1:  # combine
        for qRow in range(a["batch"] * a["heads"] * rows):
            ml = partML[qRow * a["splits"]:(qRow + 1) * a["splits"]]
            mm = ml[:, 0].max()
            w = np.where(ml[:, 1] > 0, np.exp2(ml[:, 0] - mm), 0.0)
            ll = (ml[:, 1] * w).sum()
            o = (np.nan_to_num(partO[qRow * a["splits"]:(qRow + 1) * a["splits"]]) * w[:, None]).sum(axis=0) / ll
            b, rem = divmod(qRow, a["heads"] * rows)
            h, r = divmod(rem, rows)
            out[b, h, r] = o
    return out


def run_warp_decode(a, D, W=4, C=16):
    """Emulates warpDecode (src/cuda/decode_warp.cuh): 4 warps per block, warp w takes chunks c0 + w, c0 + w + W, …
    of 16 tokens, each with its own online softmax over all D dims; the warps' states merge at the end. Then combine.
    The cp.async ring only moves data: chunk i sits in slot i % STAGES and is read directly here."""
    G, groups = a["groupHeads"], a["groups"]
    P = G  # decode: one row per head of the group
    KS, VN = D // 16, D // 8
    out = np.full((a["batch"], a["heads"], 1, D), np.nan)
    partO = np.full((a["batch"] * a["heads"] * a["splits"], D), np.nan)
    partML = np.full((a["batch"] * a["heads"] * a["splits"], 2), np.nan)
    nChunks = (a["kvLen"] + C - 1) // C
    per = (nChunks + a["splits"] - 1) // a["splits"]

    def packed(b, g, pr):
        valid = pr < P
        head = g * G + (pr if valid else 0)
        return dict(valid=valid, head=head, visible=a["kvLen"] if valid else 0)

    for bx in range((G + 15) // 16):
        pr0 = bx * 16
        for bg in range(a["batch"] * groups):
            b, g = bg // groups, bg % groups
            for z in range(a["splits"]):
                c0, c1 = z * per, min(nChunks, z * per + per)
                rowsA = [packed(b, g, pr0 + (l >> 2)) for l in range(32)]
                rowsB = [packed(b, g, pr0 + (l >> 2) + 8) for l in range(32)]
                qf = []
                for ks in range(KS):
                    regs = [np.zeros((32, 2)) for _ in range(4)]
                    for l in range(32):
                        k0 = ks * 16 + 2 * (l & 3)
                        for ri, (row, kk) in enumerate(((rowsA[l], k0), (rowsB[l], k0), (rowsA[l], k0 + 8), (rowsB[l], k0 + 8))):
                            if row["valid"]:
                                regs[ri][l] = a["q"][b, row["head"], 0, kk:kk + 2]
                    qf.append(regs)
                states = []
                for w in range(W):
                    mine = (c1 - c0 - w + W - 1) // W if c1 > c0 + w else 0
                    o = np.zeros((VN, 32, 4))
                    mA, mB, lA, lB = np.full(32, -np.inf), np.full(32, -np.inf), np.zeros(32), np.zeros(32)
                    for i in range(mine):
                        t0 = (c0 + w + i * W) * C
                        Kc = np.zeros((C, D + 8)); Vc = np.zeros((C, D + 8))
                        for tok in range(C):
                            if t0 + tok < a["kvLen"]:
                                Kc[tok, :D] = a["k"][bg, t0 + tok]; Vc[tok, :D] = a["v"][bg, t0 + tok]
                        s = np.zeros((2, 32, 4))
                        for j in range(2):
                            for ks in range(KS):
                                b0 = np.zeros((32, 2)); b1 = np.zeros((32, 2))
                                for l in range(32):
                                    kc = 2 * (l & 3) + ks * 16
                                    b0[l] = Kc[j * 8 + (l >> 2), kc:kc + 2]
                                    b1[l] = Kc[j * 8 + (l >> 2), kc + 8:kc + 10]
                                mma16816(s[j], qf[ks], b0, b1)
                        for j in range(2):
                            for l in range(32):
                                t = t0 + j * 8 + 2 * (l & 3)
                                for e in range(4):
                                    row = rowsA[l] if e < 2 else rowsB[l]
                                    s[j, l, e] = s[j, l, e] * a["scaleLog2"] if t + (e & 1) < row["visible"] else -np.inf
                        mxA = s[:, :, 0:2].max(axis=(0, 2)); mxB = s[:, :, 2:4].max(axis=(0, 2))
                        mxA = np.array([mxA[(l & ~3):(l & ~3) + 4].max() for l in range(32)])
                        mxB = np.array([mxB[(l & ~3):(l & ~3) + 4].max() for l in range(32)])
                        mNA, mNB = np.maximum(mA, mxA), np.maximum(mB, mxB)
                        with np.errstate(invalid="ignore"):
                            cA = np.where(mNA == -np.inf, 1.0, np.exp2(mA - mNA))
                            cB = np.where(mNB == -np.inf, 1.0, np.exp2(mB - mNB))
                        subA, subB = np.where(mNA == -np.inf, 0, mNA), np.where(mNB == -np.inf, 0, mNB)
                        mA, mB = mNA, mNB
                        s[:, :, 0:2] = np.exp2(s[:, :, 0:2] - subA[None, :, None])
                        s[:, :, 2:4] = np.exp2(s[:, :, 2:4] - subB[None, :, None])
                        lA = lA * cA + s[:, :, 0:2].sum(axis=(0, 2))
                        lB = lB * cB + s[:, :, 2:4].sum(axis=(0, 2))
                        pa = [s[0, :, 0:2], s[0, :, 2:4], s[1, :, 0:2], s[1, :, 2:4]]
                        for j in range(VN):
                            o[j, :, 0:2] *= cA[:, None]; o[j, :, 2:4] *= cB[:, None]
                            b0, b1 = ldmatrix_x2_trans(Vc, [l & 15 for l in range(32)], j * 8)
                            mma16816(o[j], pa, b0, b1)
                    lA = np.array([lA[(l & ~3):(l & ~3) + 4].sum() for l in range(32)])
                    lB = np.array([lB[(l & ~3):(l & ~3) + 4].sum() for l in range(32)])
                    # shared memory of the merge: [16][D] accumulators and [16][m, l] of this warp
                    mo = np.zeros((16, D)); ml = np.zeros((16, 2))
                    for j in range(VN):
                        for l in range(32):
                            gid, tig = l >> 2, l & 3
                            d = j * 8 + 2 * tig
                            mo[gid, d:d + 2] = o[j, l, 0:2]; mo[gid + 8, d:d + 2] = o[j, l, 2:4]
                    for l in range(0, 32, 4):
                        gid = l >> 2
                        ml[gid] = (mA[l], lA[l]); ml[gid + 8] = (mB[l], lB[l])
                    states.append((mo, ml))
                for idx in range(16 * (D // 2)):
                    r, d = idx // (D // 2), (idx % (D // 2)) * 2
                    row = packed(b, g, pr0 + r)
                    if not row["valid"]:
                        continue
                    M = max(ml[r, 0] for _, ml in states)
                    L = x = y = 0.0
                    for mo, ml in states:
                        if ml[r, 0] == -np.inf:
                            continue
                        c = np.exp2(ml[r, 0] - M)
                        L += c * ml[r, 1]; x += c * mo[r, d]; y += c * mo[r, d + 1]
                    qRow = b * a["heads"] + row["head"]
                    if a["splits"] == 1:
                        out[b, row["head"], 0, d:d + 2] = (x / L, y / L)
                    else:
                        partO[qRow * a["splits"] + z, d:d + 2] = (x, y)
                        if d == 0:
                            partML[qRow * a["splits"] + z] = (M, L)
    if a["splits"] > 1:
        for qRow in range(a["batch"] * a["heads"]):
            ml = partML[qRow * a["splits"]:(qRow + 1) * a["splits"]]
            mm = ml[:, 0].max()
            w = np.where(ml[:, 1] > 0, np.exp2(ml[:, 0] - mm), 0.0)
            o = (np.nan_to_num(partO[qRow * a["splits"]:(qRow + 1) * a["splits"]]) * w[:, None]).sum(axis=0) / (ml[:, 1] * w).sum()
            b, h = divmod(qRow, a["heads"])
            out[b, h, 0] = o
    return out


def reference(a, DV):
    out = np.zeros((a["batch"], a["heads"], a["rows"], DV))
    for b in range(a["batch"]):
        for h in range(a["heads"]):
            g = h // a["groupHeads"]
            bg = b * a["groups"] + g
            for r in range(a["rows"]):
                vis = a["kvLen"] - a["qLen"] + r + 1 if a["prefill"] else a["kvLen"]
                toks = [t for t in range(vis) if not a["sparse"] or a["sel"][bg * a["rows"] + r][t // a["bs"]]]
                sc = a["k"][bg, toks] @ a["q"][b, h, r] * a["scale"]
                p = np.exp(sc - sc.max()); p /= p.sum()
                vals = a["k"][bg, toks, :DV] if a["mla"] else a["v"][bg, toks]
                out[b, h, r] = p @ vals
    return out


def problem(mla, prefill, sparse, splits, D=64):
    batch, kvLen = 2, 83
    qLen = 9 if prefill else 1
    if mla:
        heads, groups, DK, DV = 20, 1, 128, 64  # a shrunken mla (rank 64 + rope 64) on the 4x4 warp layout
    else:
        heads, groups, DK, DV = 6, 2, D, D
    G = heads // groups
    rows = qLen
    a = dict(batch=batch, heads=heads, groups=groups, groupHeads=G, rows=rows, qLen=qLen, kvLen=kvLen, prefill=prefill,
             sparse=sparse, splits=splits, mla=mla, bs=16)
    a["q"] = rng.standard_normal((batch, heads, rows, DK))
    a["k"] = rng.standard_normal((batch * groups, kvLen, DK))
    a["v"] = rng.standard_normal((batch * groups, kvLen, DV))
    a["scale"] = 1 / np.sqrt(DK)
    a["scaleLog2"] = a["scale"] * LOG2E
    nb = (kvLen + 15) // 16
    a["sel"] = [[(j == 0) or (rng.random() < 0.4) for j in range(nb)] for _ in range(batch * groups * rows)]
    return a, DK, DV



def main():
    failures = 0

    def report(label, out, ref):
        nonlocal failures
        err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
        bad = np.isnan(out).sum()
        ok = err < 1e-12 and bad == 0
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label}: rel err {err:.2e}, unwritten {bad}")

    for mla in (False, True):
        for prefill in (False, True):
            for sparse in (False, True):
                for splits in ((1, 3) if not prefill else (1,)):
                    a, DK, DV = problem(mla, prefill, sparse, splits)
                    RT, DS, NTOK = (4, 4, 16) if mla else ((1, 4, 64) if not prefill else (4, 1, 64))
                    out = run_kernel(a, DK, DV, RT, DS, NTOK, mla)
                    report(f"mla={mla!s:<5} prefill={prefill!s:<5} sparse={sparse!s:<5} splits={splits} "
                           f"warps {RT}x{DS} tile {NTOK}", out, reference(a, DV))
    # The real mla instance: rank 512 + rope 64, 16 heads (48 of the 64 rows of the block invalid).
    for prefill, sparse, splits in ((False, True, 3), (True, False, 1)):
        batch, kvLen, heads, qLen = 1, 45, 16, 3 if prefill else 1
        a = dict(batch=batch, heads=heads, groups=1, groupHeads=heads, rows=qLen, qLen=qLen, kvLen=kvLen,
                 prefill=prefill, sparse=sparse, splits=splits, mla=True, bs=16, v=None)
        a["q"] = rng.standard_normal((batch, heads, qLen, 576))
        a["k"] = rng.standard_normal((batch, kvLen, 576))
        a["scale"] = 1 / np.sqrt(192)
        a["scaleLog2"] = a["scale"] * LOG2E
        a["sel"] = [[(j == 0) or (rng.random() < 0.5) for j in range(3)] for _ in range(batch * qLen)]
        report(f"mla 512+64 prefill={prefill!s:<5} sparse={sparse!s:<5} splits={splits} warps 4x4 tile 16",
               run_kernel(a, 576, 512, 4, 4, 16, True), reference(a, 512))
    # The token-split decode (decode_warp.cuh): GQA 3 (one row tile, 13 rows idle), 32 heads a group (two row
    # tiles), a context whose last warp has no chunk, one token (splits with no token at all), splits 1-3.
    for batch, heads, groups, D, kvLen, splits in ((2, 6, 2, 64, 83, 1), (2, 6, 2, 64, 83, 3), (1, 32, 1, 64, 37, 2),
                                                   (1, 4, 4, 128, 1, 3), (1, 8, 1, 128, 150, 1)):
        a = dict(batch=batch, heads=heads, groups=groups, groupHeads=heads // groups, rows=1, qLen=1, kvLen=kvLen,
                 prefill=False, sparse=False, splits=splits, mla=False, bs=16)
        a["q"] = rng.standard_normal((batch, heads, 1, D))
        a["k"] = rng.standard_normal((batch * groups, kvLen, D))
        a["v"] = rng.standard_normal((batch * groups, kvLen, D))
        a["scale"] = 1 / np.sqrt(D)
        a["scaleLog2"] = a["scale"] * LOG2E
        report(f"warp decode heads {heads}/{groups} d{D} kvLen {kvLen} splits {splits}", run_warp_decode(a, D),
               reference(a, D))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
