#!/usr/bin/env python3
"""Lane-level emulation of the stream decode (src/cuda/decode_stream.cuh + stream_convert.cuh + combine.cuh) in numpy.

Runs without a GPU (python3 packages/kernels/test/cuda/emulate_stream.py; numpy only). It checks, against a float64
softmax reference over the dequantized cache:
  - the conversions of stream_convert.cuh, bit for bit, on every byte value: int8 and E4M3 (both the sm_89+
    cvt and the sm_80 bit trick) and int4 nibbles to f16 and bf16 pairs, with the prmt byte selectors of the kernel;
  - the kernel itself on bf16/f16 activations with the cache at the activation type, kv-int8, kv-fp8 and kv-int4,
    every variant shape (warps, chunk, ring stages): the cp.async copies of 16-byte units into each warp's ring
    with the swizzles, the ring slots (chunk i + STAGES − 1 is copied into chunk i − 1's slot before chunk i is
    read), the per-sequence scale planes, the fragment layouts of each format (Q in the cache's dim order, the
    prmt interleave of value bytes, the int4 nibble pairs), the scale folding into scores and weights, the masks,
    the online softmax, the warp merge, KV splits and combine, dense and NSA-sparse (block list, a partial last
    block whose second chunk lies past kvLen, splits with no chunk);
  - that the shared-memory reads are free of bank conflicts (every LDS.128 quarter-warp phase, LDS.32/16, and the
    ldmatrix phases), as the swizzles claim.
Values travel as the bit patterns the kernel holds; the mma and the weights are float64 (the kernel's f32
accumulation and bf16/f16 rounding of the weights are not emulated), so the expected error is ~1e-15.
Mutations (a swizzle dropped on read, the key scale not applied, the ring slot reuse off by one, the wrong prmt
selector) must fail. Exit 0 when every case matches and every mutation is caught, 1 otherwise.
"""
import sys

import numpy as np

rng = np.random.default_rng(7)
LOG2E = 1.4426950408889634
D = 128
LANES = np.arange(32)
GID, TIG = LANES >> 2, LANES & 3
VARIANTS = [("w4c16s4", 4, 16, 4), ("w4c16s2", 4, 16, 2), ("w4c16s3", 4, 16, 3), ("w4c32s2", 4, 32, 2),
            ("w4c32s3", 4, 32, 3), ("w8c16s3", 8, 16, 3)]
MUTATION = None  # set by main() for the mutation runs

# ---------------------------------------------------------------- 16-bit floats and the conversions (bit exact)


def f16_bits(x):
    return np.asarray(x, np.float64).astype(np.float16).view(np.uint16).astype(np.uint32)


def f16_value(bits):
    return np.asarray(bits, np.uint32).astype(np.uint16).view(np.float16).astype(np.float64)


def bf16_bits(x):
    """Round to nearest even (finite inputs)."""
    u = np.asarray(x, np.float64).astype(np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype(np.uint32)


def bf16_value(bits):
    return (np.asarray(bits, np.uint32).astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def value16(bits, act):
    return f16_value(bits) if act == "f16" else bf16_value(bits)


def bits16(x, act):
    return f16_bits(x) if act == "f16" else bf16_bits(x)


def byte_perm(x, y, s):
    """__byte_perm / prmt.b32: result byte k = byte ((s >> 4k) & 7) of {y, x} (x bytes 0-3, y bytes 4-7)."""
    x, y = np.asarray(x, np.uint64), np.asarray(y, np.uint64)
    src = x | (y << np.uint64(32))
    out = np.zeros(np.broadcast(x, y).shape, np.uint64)
    for k in range(4):
        sel = (s >> (4 * k)) & 7
        out |= ((src >> np.uint64(8 * sel)) & np.uint64(0xFF)) << np.uint64(8 * k)
    return out.astype(np.uint32)


def halves(w):
    w = np.asarray(w, np.uint32)
    return w & 0xFFFF, w >> 16


def join(lo, hi):
    return (np.asarray(lo, np.uint32) & 0xFFFF) | (np.asarray(hi, np.uint32) << 16)


def half_op2(x, y, op):
    (xl, xh), (yl, yh) = halves(x), halves(y)
    r = [f16_bits(op(f16_value(a).astype(np.float16), f16_value(b).astype(np.float16)).astype(np.float64))
         for a, b in ((xl, yl), (xh, yh))]
    return join(*r)


def half_sub2(x, y):
    return half_op2(x, y, lambda a, b: a - b)


def half_mul2(x, y):
    return half_op2(x, y, lambda a, b: a * b)


def bf16_sub2(x, y):
    """fma.rn.bf16x2(x, 1.0, −y): exact in float64, then rounded once."""
    (xl, xh), (yl, yh) = halves(x), halves(y)
    return join(bf16_bits(bf16_value(xl) - bf16_value(yl)), bf16_bits(bf16_value(xh) - bf16_value(yh)))


def e4m3_value(b):
    b = np.asarray(b, np.int64)
    e, m = (b >> 3) & 0xF, b & 7
    mag = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e.astype(np.float64) - 7))
    return np.where(b & 0x80, -mag, mag)


def e4m3x2_to_half2(pair16, sm80):
    if not sm80:  # cvt.rn.f16x2.e4m3x2: low byte → low half, exact
        lo, hi = pair16 & 0xFF, (pair16 >> 8) & 0xFF
        return join(f16_bits(e4m3_value(lo)), f16_bits(e4m3_value(hi)))
    x = byte_perm(pair16, 0, 0x1404)
    return half_mul2(((x >> 1) & 0x3F803F80) | (x & 0x80008000), 0x5C005C00)


def half2_to_bf162(h):
    lo, hi = halves(h)
    return join(bf16_bits(f16_value(lo)), bf16_bits(f16_value(hi)))


def bytes4(fmt, act, w, sm80=False):
    """stream_convert.cuh bytes4<K, T>: lo = (byte0, byte1), hi = (byte2, byte3)."""
    w = np.asarray(w, np.uint32)
    if fmt == "int8" and act == "f16":
        u = w ^ 0x80808080
        return half_sub2(byte_perm(u, 0x64646464, 0x4140), 0x64806480), half_sub2(byte_perm(u, 0x64646464, 0x4342), 0x64806480)
    if fmt == "int8":
        u = w ^ 0x80808080
        f = [(byte_perm(u, 0x4B000000, 0x7440 + k).view(np.float32) - np.float32(8388736.0)).astype(np.float32).view(np.uint32)
             for k in range(4)]
        return byte_perm(f[0], f[1], 0x7632), byte_perm(f[2], f[3], 0x7632)
    lo, hi = e4m3x2_to_half2(w & 0xFFFF, sm80), e4m3x2_to_half2(w >> 16, sm80)
    if act == "bf16":
        lo, hi = half2_to_bf162(lo), half2_to_bf162(hi)
    return lo, hi


def nibble_pair(act, x, shift):
    x = np.asarray(x, np.uint32)
    if act == "f16":
        return half_sub2(((x >> shift) & 0x000F000F) | 0x64006400, 0x64086408)
    return bf16_sub2(((x >> shift) & 0x000F000F) | 0x43004300, 0x43084308)


def check_conversions():
    """Every byte value in every position, both activation types, both fp8 paths."""
    bad = 0
    vals = np.arange(256, dtype=np.uint32)
    for act in ("f16", "bf16"):
        for fmt, exact in (("int8", lambda b: b.astype(np.int8).astype(np.float64)), ("fp8", e4m3_value)):
            for sm80 in ((False, True) if fmt == "fp8" else (False,)):
                ok = vals[(vals & 0x7F) != 0x7F] if fmt == "fp8" else vals  # E4M3 NaN is never stored
                for pos in range(4):  # each allowed value in each byte position, the other bytes random allowed ones
                    w = np.zeros(ok.size, np.uint32)
                    for k in range(4):
                        w |= (ok if k == pos else rng.choice(ok, ok.size)).astype(np.uint32) << (8 * k)
                    lo, hi = bytes4(fmt, act, w, sm80)
                    got = [value16(halves(lo)[0], act), value16(halves(lo)[1], act), value16(halves(hi)[0], act), value16(halves(hi)[1], act)]
                    for k in range(4):
                        want = exact((w >> (8 * k)) & 0xFF)
                        bad += int((got[k] != want).sum())
        for byte in range(256):
            x = np.uint32(byte | (byte ^ 0x5A) << 16)
            for shift in (0, 4, 8, 12):
                r = nibble_pair(act, x, shift)
                want = [((x >> shift) & 0xF) - 8.0, ((x >> (16 + shift)) & 0xF) - 8.0]
                got = [value16(halves(r)[0], act), value16(halves(r)[1], act)]
                bad += int(got[0] != want[0]) + int(got[1] != want[1])
    return bad


# ---------------------------------------------------------------- the problem: stored planes and the reference


def make_problem(act, fmt, batch, heads, groups, kvLen, splits, sparse=False, bs=16, topk=3, window=20):
    G = heads // groups
    nseq = batch * groups
    a = dict(act=act, fmt=fmt, batch=batch, heads=heads, groups=groups, groupHeads=G, kvLen=kvLen, splits=splits,
             sparse=sparse, bs=bs)
    q = rng.standard_normal((batch, heads, D))
    a["qbits"] = bits16(q, act)
    a["q"] = value16(a["qbits"], act)
    rows = nseq * kvLen
    if fmt == "act":
        for p in ("k", "v"):
            bits = bits16(rng.standard_normal((rows, D)), act)
            a[p + "bytes"] = np.stack([(bits & 0xFF), (bits >> 8)], axis=-1).reshape(rows, 2 * D).astype(np.uint8)
            a[p] = value16(bits, act)
    else:
        groupsPerRow = D // 32 if fmt == "int4" else 1
        for p in ("k", "v"):
            sc = f16_bits(rng.uniform(0.01, 0.2, (rows, groupsPerRow)))
            scv = f16_value(sc)
            if fmt == "int8":
                ints = rng.integers(-127, 128, (rows, D))
                a[p + "bytes"] = ints.astype(np.int8).view(np.uint8)
                vals = ints * scv
            elif fmt == "fp8":
                b = rng.integers(0, 256, (rows, D))
                b = np.where((b & 0x7F) == 0x7F, b & 0xF0, b)
                a[p + "bytes"] = b.astype(np.uint8)
                vals = e4m3_value(b) * scv
            else:  # int4: group of 32 values, byte j holds value j (low nibble) and j + 16 (high)
                nib = rng.integers(1, 16, (rows, D))
                by = np.zeros((rows, D // 2), np.uint8)
                for gq in range(D // 32):
                    lo, hi = nib[:, 32 * gq:32 * gq + 16], nib[:, 32 * gq + 16:32 * gq + 32]
                    by[:, 16 * gq:16 * gq + 16] = (lo | (hi << 4)).astype(np.uint8)
                a[p + "bytes"] = by
                vals = (nib - 8.0) * np.repeat(scv, 32, axis=1)
            a[p] = vals
            a[p + "scales"] = sc
        # per-sequence planes padded to a multiple of 64 tokens (dispatch.cu uploads them so)
        pitch = (kvLen + 63) // 64 * 64
        a["scalePitch"] = pitch
        for p in ("k", "v"):
            seq = np.zeros((nseq, pitch, groupsPerRow), np.uint32)
            seq[:, :kvLen] = a[p + "scales"].reshape(nseq, kvLen, groupsPerRow)
            a[p + "scalesSeq"] = seq
    a["k"], a["v"] = a["k"].reshape(nseq, kvLen, D), a["v"].reshape(nseq, kvLen, D)
    a["scale"] = 1 / np.sqrt(D)
    a["scaleLog2"] = np.float64(a["scale"] * LOG2E)
    nb = (kvLen + bs - 1) // bs
    a["lists"] = []
    for _ in range(nseq):  # the selection kernel's output: ascending block list (block 0 always; the last often)
        chosen = sorted({0, nb - 1} | set(rng.choice(nb, size=min(nb, topk), replace=False).tolist())) if sparse else list(range(nb))
        if sparse and rng.random() < 0.3:
            chosen = [c for c in chosen if c != nb - 1] or [0]
        a["lists"].append(chosen)
    return a


def reference(a):
    out = np.zeros((a["batch"], a["heads"], D))
    for b in range(a["batch"]):
        for h in range(a["heads"]):
            bg = b * a["groups"] + h // a["groupHeads"]
            toks = [t for blk in a["lists"][bg] for t in range(blk * a["bs"], min(a["kvLen"], (blk + 1) * a["bs"]))] if a["sparse"] else list(range(a["kvLen"]))
            sc = a["k"][bg, toks] @ a["q"][b, h] * a["scale"]
            p = np.exp(sc - sc.max())
            out[b, h] = (p / p.sum()) @ a["v"][bg, toks]
    return out


# ---------------------------------------------------------------- shared memory, fragments, mma


class Conflicts:
    def __init__(self):
        self.count = 0

    def check(self, addrs, width):
        """One shared-memory instruction of the warp: addrs [32] byte addresses, width bytes each."""
        addrs = np.asarray(addrs, np.int64)
        phases = [range(32)] if width <= 4 else [range(p * 8, p * 8 + 8) for p in range(4)] if width == 16 else [range(16), range(16, 32)]
        for ph in phases:
            words = {}
            for l in ph:
                for w in range(max(1, width // 4)):
                    word = (addrs[l] + 4 * w) // 4
                    words.setdefault(word % 32, set()).add(word)
            if any(len(s) > 1 for s in words.values()):
                self.count += 1
                return


CONFLICTS = Conflicts()


def lds(ring, addrs, width):
    CONFLICTS.check(addrs, width)
    idx = np.asarray(addrs, np.int64)[:, None] + np.arange(width)
    by = ring[idx].astype(np.uint32)
    words = np.zeros((32, max(1, width // 4)), np.uint32)
    for w in range(max(1, width // 4)):
        for k in range(min(4, width)):
            words[:, w] |= by[:, 4 * w + k] << (8 * k)
    return words


def ldmatrix_x4(ring, row_addrs, trans):
    """row_addrs[l]: the 16-byte row lane l addresses (matrix l >> 3, row l & 7). Returns 4 regs [32]."""
    for p in range(4):
        CONFLICTS.check(np.repeat(row_addrs[p * 8:p * 8 + 8], 4)[:32] + np.tile(np.arange(0, 16, 4), 8)[:32], 4)
    h = lambda addr: ring[addr].astype(np.uint32) | (ring[addr + 1].astype(np.uint32) << 8)
    regs = []
    for m in range(4):
        r = np.zeros(32, np.uint32)
        for t in range(32):
            if not trans:
                base = row_addrs[m * 8 + t // 4] + 4 * (t % 4)
                r[t] = h(base) | (h(base + 2) << 16)
            else:
                r[t] = h(row_addrs[m * 8 + 2 * (t % 4)] + 2 * (t // 4)) | (h(row_addrs[m * 8 + 2 * (t % 4) + 1] + 2 * (t // 4)) << 16)
        regs.append(r)
    return regs


def pairs(reg, act):
    lo, hi = halves(reg)
    return np.stack([value16(lo, act), value16(hi, act)], axis=1)


def mma16816(d, a, b0, b1):
    """d [32,4] += A·B; a: 4 arrays [32,2] (a0..a3), b0/b1 [32,2]: PTX m16n8k16 row.col layouts."""
    A = np.zeros((16, 16))
    B = np.zeros((16, 8))
    C = np.zeros((16, 8))
    for half, reg in ((0, a[0]), (1, a[1])):
        A[GID + 8 * half, 2 * TIG] = reg[:, 0]
        A[GID + 8 * half, 2 * TIG + 1] = reg[:, 1]
    for half, reg in ((0, a[2]), (1, a[3])):
        A[GID + 8 * half, 2 * TIG + 8] = reg[:, 0]
        A[GID + 8 * half, 2 * TIG + 9] = reg[:, 1]
    B[2 * TIG, GID], B[2 * TIG + 1, GID] = b0[:, 0], b0[:, 1]
    B[2 * TIG + 8, GID], B[2 * TIG + 9, GID] = b1[:, 0], b1[:, 1]
    C[GID, 2 * TIG], C[GID, 2 * TIG + 1] = d[:, 0], d[:, 1]
    C[GID + 8, 2 * TIG], C[GID + 8, 2 * TIG + 1] = d[:, 2], d[:, 3]
    R = A @ B + C
    d[:, 0], d[:, 1] = R[GID, 2 * TIG], R[GID, 2 * TIG + 1]
    d[:, 2], d[:, 3] = R[GID + 8, 2 * TIG], R[GID + 8, 2 * TIG + 1]


def swz8(t):
    return (((t ^ (t >> 2)) & 1) << 2) | (t & 2)


def swz4(t):
    return (t >> 1) & 3


# ---------------------------------------------------------------- the kernel


def layout(fmt):
    wide, nib = fmt == "act", fmt == "int4"
    rowBytes = 2 * D if wide else D // 2 if nib else D
    return dict(wide=wide, nib=nib, rowBytes=rowBytes, rowPitch=2 * (D + 8) if wide else rowBytes,
                groups=0 if wide else D // 32 if nib else 1)


def query_dim(L, ks, hi, tig):
    if L["wide"]:
        return ks * 16 + 2 * tig + 8 * hi, 1
    if L["nib"]:
        return 32 * (ks >> 1) + 16 * (ks & 1) + 4 * tig + hi, 2
    return 16 * (4 * (ks >> 2) + tig) + 4 * (ks & 3) + 2 * hi, 1


def out_dim(L, j, c):
    if L["wide"]:
        return 8 * j + c
    if L["nib"]:
        q = j & 3
        return 32 * (j >> 2) + (16 if q & 2 else 0) + 2 * c + (q & 1)
    return 16 * c + j


def run_stream(a, W, C, S):
    act, fmt = a["act"], a["fmt"]
    L = layout(fmt)
    KS, VN, SN, PK = D // 16, D // 8, C // 8, C // 16
    rowUnits = L["rowBytes"] // 16
    scaleUnits = C * L["groups"] * 2 // 16
    slotBytes = 2 * C * L["rowPitch"] + 2 * C * L["groups"] * 2 + 16
    valueOff, scaleOff, headerOff = C * L["rowPitch"], 2 * C * L["rowPitch"], slotBytes - 16
    G, groups, kvLen, splits = a["groupHeads"], a["groups"], a["kvLen"], a["splits"]
    out = np.full((a["batch"], a["heads"], D), np.nan)
    partO = np.full((a["batch"] * a["heads"] * splits, D), np.nan)
    partML = np.full((a["batch"] * a["heads"] * splits, 2), np.nan)

    def row_of(b, g, pr):
        valid = pr < G
        head = g * G + (pr if valid else 0)
        return valid, head, b * a["heads"] + head

    for bx in range((G + 15) // 16):
        pr0 = bx * 16
        for bg in range(a["batch"] * groups):
            b, g = bg // groups, bg % groups
            lst = a["lists"][bg]
            logical = len(lst) * a["bs"] if a["sparse"] else kvLen
            nChunks = (logical + C - 1) // C
            per = (nChunks + splits - 1) // splits
            rA = [row_of(b, g, pr0 + gid) for gid in GID]
            rB = [row_of(b, g, pr0 + gid + 8) for gid in GID]
            qf = np.zeros((KS, 4, 32), np.uint32)
            for ks in range(KS):
                for r in range(4):
                    for l in range(32):
                        valid, head, _ = (rB if r & 1 else rA)[l]
                        d, step = query_dim(L, ks, r >> 1, TIG[l])
                        if MUTATION == "query-pairs" and step == 2:
                            step = 1
                        if valid:
                            qb = a["qbits"][b, head]
                            qf[ks, r, l] = int(qb[d]) | (int(qb[d + step]) << 16)
            qpairs = [[pairs(qf[ks, r], act) for r in range(4)] for ks in range(KS)]
            for z in range(splits):
                c0, c1 = z * per, min(nChunks, z * per + per)
                states = []
                for w in range(W):
                    ring = np.full(S * slotBytes, 0xA5, np.uint8)  # stale bytes: only copies may be read
                    mine = (c1 - c0 - w + W - 1) // W if c1 > c0 + w else 0

                    def start(i):
                        i0 = (c0 + w + i * W) * C
                        if not a["sparse"]:
                            return i0
                        return lst[i0 // a["bs"]] * a["bs"] + i0 % a["bs"]

                    def issue(i, t0):
                        if i >= mine:
                            return
                        slot = ((i + (1 if MUTATION == "slot-reuse" else 0)) % S) * slotBytes
                        per_step = 32 // rowUnits
                        for step in range(2 * C // per_step):
                            key_steps = C // per_step
                            isV = step >= key_steps
                            for lane in range(32):
                                u = lane % rowUnits
                                tok = (step % key_steps) * per_step + lane // rowUnits
                                t = t0 + tok
                                inside = t < kvLen
                                pu = u if L["wide"] else (u ^ swz4(tok)) if L["nib"] else (u ^ swz8(tok))
                                dst = slot + (valueOff if isV else 0) + tok * L["rowPitch"] + 16 * pu
                                src = a["vbytes" if isV else "kbytes"][bg * kvLen + (t if inside else 0)]
                                ring[dst:dst + 16] = src[16 * u:16 * u + 16] if inside else 0
                        if scaleUnits:
                            for lane in range(2 * scaleUnits):
                                isV = lane >= scaleUnits
                                su = lane - scaleUnits if isV else lane
                                seq = a["vscalesSeq" if isV else "kscalesSeq"][bg].reshape(-1)
                                first = t0 * L["groups"]
                                halves16 = seq[first + 8 * su:first + 8 * su + 8]
                                ring[slot + scaleOff + 16 * lane:slot + scaleOff + 16 * lane + 16] = np.stack(
                                    [halves16 & 0xFF, halves16 >> 8], axis=1).reshape(16).astype(np.uint8)
                        ring[slot + headerOff:slot + headerOff + 4] = np.frombuffer(np.int32(t0).tobytes(), np.uint8)

                    o = np.zeros((VN, 32, 4))
                    mA, mB = np.full(32, -np.inf), np.full(32, -np.inf)
                    lA, lB = np.zeros(32), np.zeros(32)
                    for i in range(S - 1):
                        issue(i, start(i) if i < mine else 0)
                    pending = start(S - 1) if S - 1 < mine else 0
                    for i in range(mine):
                        issue(i + S - 1, pending)
                        pending = start(i + S) if i + S < mine else 0
                        slot = (i % S) * slotBytes
                        kR, vR, kSc = slot, slot + valueOff, slot + scaleOff
                        vSc = kSc + scaleUnits * 16
                        t0 = int(np.frombuffer(ring[slot + headerOff:slot + headerOff + 4].tobytes(), np.int32)[0])
                        s = np.zeros((SN, 32, 4))
                        sw8 = (lambda t: 0) if MUTATION == "swizzle" else swz8
                        if L["wide"]:
                            for j in range(SN):
                                for k2 in range(0, KS, 2):
                                    addrs = kR + (8 * j + (LANES & 7)) * L["rowPitch"] + 2 * (16 * k2 + 8 * (LANES >> 3))
                                    r = ldmatrix_x4(ring, addrs, False)
                                    mma16816(s[j], qpairs[k2], pairs(r[0], act), pairs(r[1], act))
                                    mma16816(s[j], qpairs[k2 + 1], pairs(r[2], act), pairs(r[3], act))
                        elif not L["nib"]:
                            for j in range(SN):
                                tok = 8 * j + GID
                                for h in range(D // 64):
                                    words = lds(ring, kR + tok * L["rowPitch"] + 16 * ((4 * h + TIG) ^ sw8(tok)), 16)
                                    for qq in range(4):
                                        lo, hi = bytes4(fmt, act, words[:, qq])
                                        mma16816(s[j], qpairs[4 * h + qq], pairs(lo, act), pairs(hi, act))
                                sc = lds(ring, kSc + 2 * (8 * j + 2 * TIG), 4)[:, 0]
                                sx, sy = f16_value(sc & 0xFFFF), f16_value(sc >> 16)
                                if MUTATION != "key-scale":
                                    s[j, :, 0] *= sx; s[j, :, 1] *= sy; s[j, :, 2] *= sx; s[j, :, 3] *= sy
                        else:
                            for j in range(SN):
                                tok = 8 * j + GID
                                scw = lds(ring, kSc + 2 * (8 * j + 2 * TIG) * L["groups"], 16)  # [32, 4] words
                                for grp in range(D // 32):
                                    sg = np.zeros((32, 4))
                                    wd = lds(ring, kR + tok * L["rowPitch"] + 16 * (grp ^ swz4(tok)) + 4 * TIG, 4)[:, 0]
                                    mma16816(sg, qpairs[2 * grp], pairs(nibble_pair(act, wd, 0), act), pairs(nibble_pair(act, wd, 8), act))
                                    mma16816(sg, qpairs[2 * grp + 1], pairs(nibble_pair(act, wd, 4), act), pairs(nibble_pair(act, wd, 12), act))
                                    wa, wb = scw[:, grp >> 1], scw[:, 2 + (grp >> 1)]
                                    s0 = f16_value(wa >> 16 if grp & 1 else wa & 0xFFFF)
                                    s1 = f16_value(wb >> 16 if grp & 1 else wb & 0xFFFF)
                                    if MUTATION == "key-scale":
                                        s0, s1 = np.ones(32), np.ones(32)
                                    s[j, :, 0] += sg[:, 0] * s0; s[j, :, 1] += sg[:, 1] * s1
                                    s[j, :, 2] += sg[:, 2] * s0; s[j, :, 3] += sg[:, 3] * s1
                        limit = kvLen - t0 - 2 * TIG
                        for j in range(SN):
                            in0, in1 = 8 * j < limit, 8 * j + 1 < limit
                            s[j, :, 0] = np.where(in0, s[j, :, 0] * a["scaleLog2"], -np.inf)
                            s[j, :, 1] = np.where(in1, s[j, :, 1] * a["scaleLog2"], -np.inf)
                            s[j, :, 2] = np.where(in0, s[j, :, 2] * a["scaleLog2"], -np.inf)
                            s[j, :, 3] = np.where(in1, s[j, :, 3] * a["scaleLog2"], -np.inf)
                        mxA = s[:, :, 0:2].max(axis=(0, 2)).reshape(8, 4).max(axis=1).repeat(4)
                        mxB = s[:, :, 2:4].max(axis=(0, 2)).reshape(8, 4).max(axis=1).repeat(4)
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
                        o[:, :, 0:2] *= cA[None, :, None]
                        o[:, :, 2:4] *= cB[None, :, None]
                        for kk in range(PK):
                            p0, p1 = s[2 * kk], s[2 * kk + 1]
                            tA = 16 * kk + 2 * TIG
                            if L["wide"]:
                                pa = [p0[:, 0:2], p0[:, 2:4], p1[:, 0:2], p1[:, 2:4]]
                                for j in range(0, VN, 2):
                                    addrs = vR + (16 * kk + (LANES & 7) + 8 * ((LANES >> 3) & 1)) * L["rowPitch"] + 2 * (8 * j + 8 * (LANES >> 4))
                                    r = ldmatrix_x4(ring, addrs, True)
                                    mma16816(o[j], pa, pairs(r[0], act), pairs(r[1], act))
                                    mma16816(o[j + 1], pa, pairs(r[2], act), pairs(r[3], act))
                            elif not L["nib"]:
                                sa, sb = lds(ring, vSc + 2 * tA, 4)[:, 0], lds(ring, vSc + 2 * (tA + 8), 4)[:, 0]
                                sax, say, sbx, sby = f16_value(sa & 0xFFFF), f16_value(sa >> 16), f16_value(sb & 0xFFFF), f16_value(sb >> 16)
                                pa = [np.stack([p0[:, 0] * sax, p0[:, 1] * say], 1), np.stack([p0[:, 2] * sax, p0[:, 3] * say], 1),
                                      np.stack([p1[:, 0] * sbx, p1[:, 1] * sby], 1), np.stack([p1[:, 2] * sbx, p1[:, 3] * sby], 1)]
                                toks = [tA, tA + 1, tA + 8, tA + 9]
                                wv = [lds(ring, vR + t * L["rowPitch"] + 16 * (GID ^ sw8(t)), 16) for t in toks]
                                sel = (0x5140, 0x7362) if MUTATION != "prmt" else (0x5410, 0x7632)
                                for qq in range(4):
                                    b0 = [*bytes4(fmt, act, byte_perm(wv[0][:, qq], wv[1][:, qq], sel[0])), *bytes4(fmt, act, byte_perm(wv[0][:, qq], wv[1][:, qq], sel[1]))]
                                    b1 = [*bytes4(fmt, act, byte_perm(wv[2][:, qq], wv[3][:, qq], sel[0])), *bytes4(fmt, act, byte_perm(wv[2][:, qq], wv[3][:, qq], sel[1]))]
                                    for x in range(4):
                                        mma16816(o[4 * qq + x], pa, pairs(b0[x], act), pairs(b1[x], act))
                            else:
                                toks = [tA, tA + 1, tA + 8, tA + 9]
                                vsc = [lds(ring, vSc + 2 * t * L["groups"], 8) for t in toks]  # [32, 2] words each
                                for grp in range(D // 32):
                                    sv = [f16_value(w[:, grp >> 1] >> 16 if grp & 1 else w[:, grp >> 1] & 0xFFFF) for w in vsc]
                                    pa = [np.stack([p0[:, 0] * sv[0], p0[:, 1] * sv[1]], 1), np.stack([p0[:, 2] * sv[0], p0[:, 3] * sv[1]], 1),
                                          np.stack([p1[:, 0] * sv[2], p1[:, 1] * sv[3]], 1), np.stack([p1[:, 2] * sv[2], p1[:, 3] * sv[3]], 1)]
                                    h = [lds(ring, vR + t * L["rowPitch"] + 16 * (grp ^ swz4(t)) + 2 * GID, 2)[:, 0] for t in toks]
                                    ab, cd = byte_perm(h[0], h[1], 0x5410), byte_perm(h[2], h[3], 0x5410)
                                    for x, shift in enumerate((0, 8, 4, 12)):
                                        mma16816(o[4 * grp + x], pa, pairs(nibble_pair(act, ab, shift), act), pairs(nibble_pair(act, cd, shift), act))
                    lA = lA.reshape(8, 4).sum(axis=1).repeat(4)
                    lB = lB.reshape(8, 4).sum(axis=1).repeat(4)
                    mo = np.zeros((16, D))
                    for j in range(VN):
                        for e in range(2):
                            d = np.array([out_dim(L, j, 2 * t + e) for t in TIG])
                            mo[GID, d] = o[j, :, e]
                            mo[GID + 8, d] = o[j, :, 2 + e]
                    ml = np.zeros((16, 2))
                    ml[GID[::4]] = np.stack([mA[::4], lA[::4]], 1)
                    ml[GID[::4] + 8] = np.stack([mB[::4], lB[::4]], 1)
                    states.append((mo, ml))
                for r in range(16):
                    valid, head, qRow = row_of(b, g, pr0 + r)
                    if not valid:
                        continue
                    M = max(ml[r, 0] for _, ml in states)
                    Lsum, x = 0.0, np.zeros(D)
                    for mo, ml in states:
                        if ml[r, 0] == -np.inf:
                            continue
                        c = np.exp2(ml[r, 0] - M)
                        Lsum += c * ml[r, 1]
                        x += c * mo[r]
                    if splits == 1:
                        out[b, head] = x / Lsum
                    else:
                        partO[qRow * splits + z] = x
                        partML[qRow * splits + z] = (M, Lsum)
    if splits > 1:  # combine.cuh
        for qRow in range(a["batch"] * a["heads"]):
            ml = partML[qRow * splits:(qRow + 1) * splits]
            mm = ml[:, 0].max()
            with np.errstate(invalid="ignore"):
                w = np.where(ml[:, 1] > 0, np.exp2(ml[:, 0] - mm), 0.0)
            o = (np.nan_to_num(partO[qRow * splits:(qRow + 1) * splits]) * w[:, None]).sum(axis=0) / (ml[:, 1] * w).sum()
            b, h = divmod(qRow, a["heads"])
            out[b, h] = o
    return out


# ---------------------------------------------------------------- cases


CASES = [  # act, fmt, variant index, batch, heads, groups, kvLen, splits, sparse
    ("bf16", "act", 0, 1, 8, 1, 150, 1, False),
    ("f16", "act", 3, 2, 6, 2, 83, 3, False),
    ("bf16", "int8", 0, 1, 8, 1, 150, 1, False),
    ("f16", "int8", 4, 1, 32, 1, 70, 2, False),
    ("bf16", "fp8", 2, 1, 4, 2, 97, 1, False),
    ("f16", "fp8", 5, 1, 8, 1, 300, 2, False),
    ("bf16", "int4", 1, 1, 8, 1, 130, 1, False),
    ("f16", "int4", 3, 1, 4, 1, 45, 3, False),
    ("bf16", "act", 5, 1, 16, 1, 1, 3, False),
    ("bf16", "int8", 0, 1, 8, 1, 200, 3, True),
    ("f16", "int4", 2, 2, 4, 2, 120, 2, True),
    ("bf16", "fp8", 4, 1, 8, 1, 180, 1, True),
    ("f16", "act", 1, 1, 8, 1, 160, 4, True),
]


def run_case(case, bs=None):
    act, fmt, vi, batch, heads, groups, kvLen, splits, sparse = case
    name, W, C, S = VARIANTS[vi]
    bs = bs or (32 if C == 32 else 16)
    a = make_problem(act, fmt, batch, heads, groups, kvLen, splits, sparse, bs=bs)
    out = run_stream(a, W, C, S)
    ref = reference(a)
    err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    return err, int(np.isnan(out).sum()), f"{act} {fmt:<4} {name} batch {batch} heads {heads}/{groups} kvLen {kvLen} splits {splits} sparse={sparse}"


def main():
    global MUTATION
    failures = 0
    bad = check_conversions()
    print(f"{'ok  ' if bad == 0 else 'FAIL'} conversions: every byte value, int8/fp8 (sm_89+ and sm_80)/int4 to f16 and bf16: {bad} wrong")
    failures += bad != 0
    for case in CASES:
        CONFLICTS.count = 0
        err, unwritten, label = run_case(case)
        ok = err < 1e-12 and unwritten == 0 and CONFLICTS.count == 0
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label}: rel err {err:.2e}, unwritten {unwritten}, bank-conflicted reads {CONFLICTS.count}")
    # A sparse case whose last selected block is partial with a chunk wholly past kvLen (bs 32, chunk 16).
    CONFLICTS.count = 0
    a = make_problem("bf16", "int8", 1, 8, 1, 70, 2, True, bs=32)
    a["lists"] = [[0, 2]]  # block 2 holds tokens 64..95: 64..69 valid, its second chunk (80..95) is all masked
    err = np.linalg.norm(run_stream(a, 4, 16, 3) - reference(a)) / np.linalg.norm(reference(a))
    ok = err < 1e-12
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} sparse chunk wholly past kvLen: rel err {err:.2e}")
    # Mutations must be caught.
    for mutation, case in (("swizzle", ("bf16", "int8", 0, 1, 8, 1, 64, 1, False)),
                           ("key-scale", ("f16", "int4", 0, 1, 8, 1, 40, 1, False)),
                           ("slot-reuse", ("bf16", "act", 1, 1, 8, 1, 200, 1, False)),
                           ("prmt", ("f16", "fp8", 0, 1, 8, 1, 40, 1, False)),
                           ("query-pairs", ("bf16", "int4", 0, 1, 8, 1, 40, 1, False))):
        MUTATION = mutation
        CONFLICTS.count = 0
        err, _, label = run_case(case)
        MUTATION = None
        caught = err > 1e-6 or CONFLICTS.count > 0
        failures += not caught
        print(f"{'ok  ' if caught else 'FAIL'} mutation {mutation} is caught (rel err {err:.2e}, conflicts {CONFLICTS.count}): {label}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
