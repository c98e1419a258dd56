#!/usr/bin/env python3
"""Lane-level emulation of the Hopper (sm_90a) kernels in numpy: src/cuda/hopper/{layout,prefill,mla,convert,
softmax,tile_walk}.cuh. Runs without a GPU (python3 packages/kernels/test/cuda/emulate_hopper.py; numpy only).

Two halves, kept apart on purpose:
 * the machine, written from the PTX ISA and the canonical layouts wgmma accepts: a byte-addressed shared memory,
   the 128-byte swizzle (address bits [4,7) ^= bits [7,10), on absolute addresses), the bulk tensor copy writing a
   box (swizzled, or plain for raw bytes; rows past the tensor read as zeros), the 64-bit matrix descriptor
   (start, LBO, SBO >> 4; swizzle mode 1), operand fetch through it in K-major and MN-major form, wgmma
   m64nNk16 with A from shared memory or from the A register fragment, and the accumulator fragment layout
   (thread t: warp t/32 owns rows 16w.., d[i] at row gid + 8·((i mod 4) ≥ 2), column 8⌊i/4⌋ + 2·tig + (i mod 2));
 * the kernels, mirrored line by line: plan offsets, the 1024-byte alignment of the dynamic base, chunkOffset,
   the descriptors and their k-steps, the Q stores, the converter, the tile walk and NSA union list, masks, the
   online softmax with quad shuffles, the P re-packing, the MLA score halves swapped between warpgroups, the
   epilogue, KV splits and the combine step.
Every case compares with a float64 softmax reference (values are not rounded to bf16: expected error ~1e-15), and
mutations of the kernel side (swapped LBO/SBO, a missing swizzle, a wrong k-step, weights packed in the wrong
order, a wrong barrier parity, a dropped MLA half) must fail. A discrete-event run of the mbarrier protocol (copy
warp, converters, compute warps, random interleavings) checks the stage and parity arithmetic for deadlocks and
for reads of a stage before it holds the right tile or writes before it was released.
Exit 0 when every case matches and every mutation is caught, 1 otherwise.
"""
import sys

import numpy as np

LOG2E = 1.4426950408889634
SMEM_BYTES = 1 << 18
MUT = set()  # active mutations of the kernel side


# ============================================================ the machine (PTX semantics)

def sw128(addr):
    return addr ^ (((addr >> 7) & 7) << 4)


class Smem:
    """Shared memory: 16-bit values (as float64) by byte address / 2, raw bytes in a second view."""

    def __init__(self):
        self.v16 = np.full(SMEM_BYTES // 2, np.nan)
        self.b8 = np.zeros(SMEM_BYTES, np.uint8)

    def store16(self, addr, values):  # ordinary st.shared of consecutive 16-bit values
        assert addr % 2 == 0
        self.v16[addr // 2: addr // 2 + len(values)] = values


def tma_box_sw128(smem, dst, plane, row0, col0, rows, kv_len):
    """cp.async.bulk.tensor, 16-bit elements, box {64, rows}, SWIZZLE_128B; rows past kv_len are zeros."""
    assert dst % 128 == 0
    for r in range(rows):
        t = row0 + r
        vals = plane[t, col0:col0 + 64] if t < kv_len else np.zeros(64)
        for e in range(64):
            smem.v16[sw128(dst + r * 128 + 2 * e) // 2] = vals[e]


def tma_box_raw(smem, dst, plane_bytes, row0, x0, width, rows, kv_len):
    """cp.async.bulk.tensor, byte elements, box {width, rows}, no swizzle: row r at dst + r·width."""
    for r in range(rows):
        t = row0 + r
        smem.b8[dst + r * width: dst + (r + 1) * width] = plane_bytes[t, x0:x0 + width] if t < kv_len else 0


def decode_desc(d):
    start = (d & 0x3FFF) << 4
    lbo = ((d >> 16) & 0x3FFF) << 4
    sbo = ((d >> 32) & 0x3FFF) << 4
    assert (d >> 62) == 1, "swizzle mode must be 128B"
    return start, lbo, sbo


def operand_kmajor(smem, d, rows):
    """rows × 16 operand, K-major SW128: (mn, k) at start + (mn mod 8)·128 + ⌊mn/8⌋·SBO + 2k, then swizzled."""
    start, _, sbo = decode_desc(d)
    mn = np.arange(rows)[:, None]
    k = np.arange(16)[None, :]
    addr = start + (mn % 8) * 128 + (mn // 8) * sbo + 2 * k
    return smem.v16[sw128(addr) // 2]


def operand_mnmajor(smem, d, n):
    """n × 16 operand (B transposed), MN-major SW128: (n, k) at start + 2(n mod 64) + ⌊n/64⌋·LBO + (k mod 8)·128
    + ⌊k/8⌋·SBO, then swizzled."""
    start, lbo, sbo = decode_desc(d)
    nn = np.arange(n)[:, None]
    k = np.arange(16)[None, :]
    addr = start + 2 * (nn % 64) + (nn // 64) * lbo + (k % 8) * 128 + (k // 8) * sbo
    return smem.v16[sw128(addr) // 2]


T = np.arange(128)
WARP, LANE = T // 32, T % 32
GID, TIG = LANE // 4, LANE % 4


def acc_index(n):
    """(row, col) of accumulator value i of every thread: arrays [128, n/2]."""
    i = np.arange(n // 2)[None, :]
    row = 16 * WARP[:, None] + GID[:, None] + 8 * ((i % 4) // 2)
    col = 8 * (i // 4) + 2 * TIG[:, None] + (i % 2)
    return row, col


def a_fragment_matrix(a):
    """A register fragments [128, 4 regs, 2 halves] → the 64 × 16 matrix (ALayout_64x16)."""
    m = np.full((64, 16), np.nan)
    for r in range(4):
        for h in range(2):
            m[16 * WARP + GID + 8 * (r % 2), 2 * TIG + 8 * (r // 2) + h] = a[:, r, h]
    return m


def wgmma(d, a, desc_b, n, trans_b, smem, accumulate, a_is_desc=True):
    """D[64 × n] (fragments d [128, n/2]) = A·Bᵀ (+ D). A: descriptor (K-major) or register fragments."""
    A = operand_kmajor(smem, a, 64) if a_is_desc else a_fragment_matrix(a)
    B = operand_mnmajor(smem, desc_b, n) if trans_b else operand_kmajor(smem, desc_b, n)
    row, col = acc_index(n)
    prod = A @ B.T
    d[:] = prod[row, col] + (d if accumulate else 0)


def fp8_e4m3(byte):
    b = np.asarray(byte, np.int64)
    s = np.where(b & 0x80, -1.0, 1.0)
    e, m = (b >> 3) & 0xF, b & 7
    return s * np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7.0))


# ============================================================ the kernels (mirrors of the .cuh files)

def block_bytes(rows):
    return rows * 128


def tile_bytes(rows, dims):
    return block_bytes(rows) * (dims // 64)


def chunk_offset(rows, row, chunk):  # layout.cuh
    block, c = chunk >> 3, chunk & 7
    sw = c if "no-swizzle-store" in MUT else c ^ (row & 7)
    return block * block_bytes(rows) + row * 128 + (sw << 4)


def make_descriptor(start, lbo, sbo):
    return ((start >> 4) & 0x3FFF) | (((lbo >> 4) & 0x3FFF) << 16) | (((sbo >> 4) & 0x3FFF) << 32) | (1 << 62)


def k_major_descriptor(tile, rows, row0, ks):
    step = 16 if "kstep" in MUT else 32
    start = tile + (ks >> 2) * block_bytes(rows) + row0 * 128 + (ks & 3) * step
    return make_descriptor(start, 16, 1024)


def mn_major_descriptor(tile, rows, n0, kk):
    start = tile + (n0 // 64) * block_bytes(rows) + kk * 16 * 128
    lbo, sbo = block_bytes(rows), 1024
    if "lbo-sbo" in MUT:
        lbo, sbo = sbo, lbo
    return make_descriptor(start, lbo, sbo)


def raw_row_bytes(fmt, dims):
    return dims // 2 if fmt == "int4" else dims


def raw_piece_bytes(fmt, dims):
    return min(256, raw_row_bytes(fmt, dims))


def raw_offset(ntok, piece, t, x):
    return (x // piece) * ntok * piece + t * piece + x % piece


class Problem:
    """Inputs in float64 plus what AttnArgs carries."""

    def __init__(self, rng, batch, heads, groups, d, q_len, kv_len, prefill, mla=False, sparse=False, bs=16,
                 fmt="bf16", rank=512, rope=64):
        self.batch, self.heads, self.groups = batch, heads, groups
        self.group_heads = heads // groups
        self.rows = q_len if prefill else 1
        self.q_len, self.kv_len, self.prefill, self.mla, self.sparse, self.bs = q_len, kv_len, prefill, mla, sparse, bs
        self.fmt = fmt
        self.dk = rank + rope if mla else d
        self.dv = rank if mla else d
        self.rank, self.rope = rank, rope
        self.scale_log2 = LOG2E / np.sqrt(self.dk)
        seqs = batch * groups
        self.q = rng.standard_normal((batch * heads * self.rows, self.dk))
        # the stored cache: dense k0 = keys, v = values; mla k0 = ckv, k1 = kRope
        self.planes = {}
        dims = {"k0": rank if mla else d, "k1": rope if mla else 0, "v": 0 if mla else d}
        for name, dim in dims.items():
            if dim:
                self.planes[name] = self.make_plane(rng, seqs * kv_len, dim)
        self.n_blocks = (kv_len + bs - 1) // bs
        self.mask_words = (self.n_blocks + 31) // 32
        self.sel = np.zeros((seqs * self.rows, self.n_blocks), bool)
        if sparse:  # any selection with the sink: the attention path must honour it exactly
            self.sel = rng.random(self.sel.shape) < 0.35
            self.sel[:, 0] = True
        self.sel_words = np.zeros((seqs * self.rows, self.mask_words), np.uint64)
        for r in range(self.sel.shape[0]):
            for j in np.nonzero(self.sel[r])[0]:
                self.sel_words[r, j >> 5] |= np.uint64(1) << np.uint64(j & 31)

    def make_plane(self, rng, rows, dim):
        p = {"dim": dim}
        if self.fmt == "bf16":
            p["values"] = rng.standard_normal((rows, dim))
            p["deq"] = p["values"]
            return p
        groups = (dim + 31) // 32 if self.fmt == "int4" else 1
        scales = (rng.random((rows, groups)) * 0.05 + 0.01).astype(np.float16).astype(np.float64)
        if self.fmt == "int8":
            q = rng.integers(-127, 128, (rows, dim))
            raw = (q & 0xFF).astype(np.uint8)
            deq = q * scales[:, :1]
        elif self.fmt == "fp8":
            raw = rng.integers(0, 256, (rows, dim)).astype(np.uint8)
            raw[(raw & 0x7F) == 0x7F] = 0x3C  # no NaN codes
            deq = fp8_e4m3(raw) * scales[:, :1]
        else:  # int4: byte j of a 32-group holds value j (low nibble) and j + 16 (high nibble)
            q = rng.integers(-7, 8, (rows, dim))
            raw = np.zeros((rows, dim // 2), np.uint8)
            for g in range(dim // 32):
                lo, hi = q[:, 32 * g: 32 * g + 16] + 8, q[:, 32 * g + 16: 32 * g + 32] + 8
                raw[:, 16 * g: 16 * g + 16] = (lo | (hi << 4)).astype(np.uint8)
            deq = q * np.repeat(scales, 32, axis=1)[:, :dim]
        p.update(raw=raw, scales=scales, groups=groups, deq=deq)
        return p

    def visible(self, r):
        return self.kv_len - self.q_len + r + 1 if self.prefill else self.kv_len

    def packed_row(self, b, g, pr):  # prefill_mma.cuh packedRow
        valid = pr < self.rows * self.group_heads
        prc = pr if valid else 0
        r, head = prc // self.group_heads, g * self.group_heads + prc % self.group_heads
        return dict(valid=valid, r=r, head=head, visible=self.visible(r) if valid else 0,
                    selRow=(b * self.groups + g) * self.rows + r, qRow=(b * self.heads + head) * self.rows + r)

    def block_selected(self, sel_row, block):
        return bool((int(self.sel_words[sel_row, block >> 5]) >> (block & 31)) & 1)

    def reference(self):
        out = np.zeros((self.batch * self.heads * self.rows, self.dv))
        for b in range(self.batch):
            for h in range(self.heads):
                g = h // self.group_heads
                seq = b * self.groups + g
                keys = self.keys_of(seq)
                vals = self.values_of(seq)
                for r in range(self.rows):
                    qr = self.q[(b * self.heads + h) * self.rows + r]
                    ok = np.arange(self.kv_len) < self.visible(r)
                    if self.sparse:
                        ok &= self.sel[seq * self.rows + r][np.arange(self.kv_len) // self.bs]
                    s = keys @ qr * self.scale_log2
                    s[~ok] = -np.inf
                    w = np.exp2(s - s.max())
                    out[(b * self.heads + h) * self.rows + r] = w @ vals / w.sum()
        return out

    def keys_of(self, seq):
        sl = slice(seq * self.kv_len, (seq + 1) * self.kv_len)
        if self.mla:
            return np.concatenate([self.planes["k0"]["deq"][sl], self.planes["k1"]["deq"][sl]], axis=1)
        return self.planes["k0"]["deq"][sl]

    def values_of(self, seq):
        sl = slice(seq * self.kv_len, (seq + 1) * self.kv_len)
        return self.planes["k0"]["deq"][sl][:, :self.rank] if self.mla else self.planes["v"]["deq"][sl]


# ---- tile_walk.cuh

def position_selects_tile(p, b, g, r, t0, ntok):
    last = min(t0 + ntok, p.visible(r)) - 1
    if last < t0:
        return False
    sel_row = (b * p.groups + g) * p.rows + r
    return any(p.block_selected(sel_row, blk) for blk in range(t0 // p.bs, last // p.bs + 1))


def build_tile_sequence(p, pr0, pr_end, ntok):
    r1 = (pr_end - 1) // p.group_heads
    tiles = (p.visible(r1) + ntok - 1) // ntok
    if not p.sparse:
        return tiles, None
    r0 = pr0 // p.group_heads
    lst = [t for t in range(tiles)
           if any(position_selects_tile(p, p._b, p._g, r, t * ntok, ntok) for r in range(r0, r1 + 1))]
    if "drop-union" in MUT and len(lst) > 1:
        lst = lst[:-1]
    return len(lst), lst


def split_range(count, split, splits):
    per = (count + splits - 1) // splits
    begin = min(count, split * per)
    return begin, min(count, begin + per)


# ---- softmax.cuh

def selection_window(p, visible, sel_row, blk0):
    if visible == 0:
        return 0
    w = blk0 >> 5
    lo = int(p.sel_words[sel_row, w])
    hi = int(p.sel_words[sel_row, w + 1]) if w + 1 < p.mask_words else 0
    return ((hi << 32) | lo) >> (blk0 & 31)


def row_pair(p, b, g, pr_a):
    A, B = p.packed_row(b, g, pr_a), p.packed_row(b, g, pr_a + 8)
    return dict(prA=pr_a, visA=A["visible"], visB=B["visible"], selA=A["selRow"], selB=B["selRow"])


def quad_reduce(x, op):
    """shfl_xor 1 and 2 within the quad: x [128] → every lane holds the quad's op."""
    q = x.reshape(4, 8, 4)
    return np.repeat(op(q, axis=2), 4, axis=1).reshape(128)


def softmax_tile(p, rp, s, t0, masked, m, l):
    """s [128, NTOK/2] in place; rp: per-thread lists; m, l [128, 2]. Returns the factors [128, 2]."""
    ntok = s.shape[1] * 2
    if masked:
        shift = int(np.log2(p.bs))
        blk0 = t0 >> shift
        for th in range(128):
            win = [selection_window(p, rp[th]["visA"], rp[th]["selA"], blk0) if p.sparse else (1 << 64) - 1,
                   selection_window(p, rp[th]["visB"], rp[th]["selB"], blk0) if p.sparse else (1 << 64) - 1]
            vis = [rp[th]["visA"], rp[th]["visB"]]
            for j in range(ntok // 8):
                for e in range(2):
                    t = int(t0 + 8 * j + 2 * TIG[th] + e)
                    bit = (t >> shift) - blk0
                    for half in range(2):
                        ok = t < vis[half] and (win[half] >> bit) & 1
                        i = 4 * j + 2 * half + e
                        s[th, i] = s[th, i] * p.scale_log2 if ok else -np.inf
    else:
        s *= p.scale_log2
    half_of = (np.arange(ntok // 2) % 4) >= 2
    mx = np.stack([s[:, ~half_of].max(axis=1), s[:, half_of].max(axis=1)], axis=1)
    mx = np.stack([quad_reduce(mx[:, 0], np.max), quad_reduce(mx[:, 1], np.max)], axis=1)
    m_new = np.maximum(m, mx)
    with np.errstate(invalid="ignore"):
        c = np.where(m_new == -np.inf, 1.0, np.exp2(m - m_new))
    sub = np.where(m_new == -np.inf, 0.0, m_new)
    m[:] = m_new
    s[:, ~half_of] = np.exp2(s[:, ~half_of] - sub[:, :1])
    s[:, half_of] = np.exp2(s[:, half_of] - sub[:, 1:])
    sums = np.stack([s[:, ~half_of].sum(axis=1), s[:, half_of].sum(axis=1)], axis=1)
    l[:] = l * c + sums
    return c


def rescale(o, c):
    half_of = (np.arange(o.shape[1]) % 4) >= 2
    o[:, ~half_of] *= c[:, :1]
    o[:, half_of] *= c[:, 1:]


def pack_weights(s):
    """p[kk] registers [128, 4, 2] = pairs s[8kk + 2q], s[8kk + 2q + 1]."""
    ntok = s.shape[1] * 2
    out = []
    for kk in range(ntok // 16):
        regs = np.zeros((128, 4, 2))
        for q in range(4):
            src = 8 * kk + 2 * q
            if "pack-order" in MUT:
                src = 8 * kk + 2 * (q ^ 1)
            regs[:, q, 0], regs[:, q, 1] = s[:, src], s[:, src + 1]
        out.append(regs)
    return out


def store_rows(p, b, g, rp, o, col0, m, l, split, splits, out, part_o, part_ml, writes_state):
    l_tot = np.stack([quad_reduce(l[:, 0], np.sum), quad_reduce(l[:, 1], np.sum)], axis=1)
    n = o.shape[1] * 2
    for th in range(128):
        for half in range(2):
            row = p.packed_row(b, g, rp[th]["prA"] + 8 * half)
            if not row["valid"]:
                continue
            cols = col0 + 2 * TIG[th] + 8 * np.arange(n // 8)
            v0, v1 = o[th, 2 * half::4], o[th, 2 * half + 1::4]
            if splits == 1:
                out[row["qRow"], cols] = v0 / l_tot[th, half]
                out[row["qRow"], cols + 1] = v1 / l_tot[th, half]
            else:
                part = row["qRow"] * splits + split
                part_o[part, cols] = v0
                part_o[part, cols + 1] = v1
                if writes_state and TIG[th] == 0:
                    part_ml[part] = (m[th, half], l_tot[th, half])


def combine(p, part_o, part_ml, splits, out):  # combine.cuh
    for row in range(out.shape[0]):
        ms = part_ml[row * splits:(row + 1) * splits, 0]
        M = ms.max()
        w = np.where(ms == -np.inf, 0.0, np.exp2(ms - M))
        num = (w[:, None] * part_o[row * splits:(row + 1) * splits]).sum(axis=0)
        den = (w * part_ml[row * splits:(row + 1) * splits, 1]).sum()
        out[row] = num / den


# ---- convert.cuh

def convert_plane(p, smem, raw, plane, row_base, t0, tile, chunk0, ntok, dims):
    fmt = p.fmt
    piece = raw_piece_bytes(fmt, dims)
    if fmt == "int4":
        for it in range(ntok * dims // 16):
            t, gh = it // (dims // 16), it % (dims // 16)
            g, h = gh >> 1, gh & 1
            u = smem.b8[raw + np.array([raw_offset(ntok, piece, t, 16 * g + 8 * h + i) for i in range(8)])].astype(int)
            scale = plane["scales"][row_base + t0 + t, g] if t0 + t < p.kv_len else 0.0
            smem.store16(tile + chunk_offset(ntok, t, chunk0 + 4 * g + h), ((u & 0xF) - 8) * scale)
            smem.store16(tile + chunk_offset(ntok, t, chunk0 + 4 * g + 2 + h), ((u >> 4) - 8) * scale)
    else:
        for it in range(ntok * dims // 8):
            t, c = it // (dims // 8), it % (dims // 8)
            u = smem.b8[raw + np.array([raw_offset(ntok, piece, t, 8 * c + i) for i in range(8)])].astype(int)
            v = fp8_e4m3(u) if fmt == "fp8" else np.where(u >= 128, u - 256, u)
            scale = plane["scales"][row_base + t0 + t, 0] if t0 + t < p.kv_len else 0.0
            smem.store16(tile + chunk_offset(ntok, t, chunk0 + c), v * scale)


# ---- the stage ring: the copy warp (and converters) fill a stage ahead of the compute warps, as far as the
# ring allows, so a compute warp reading the wrong stage sees another tile's data.

class Ring:
    def __init__(self, stages, fill):
        self.stages, self.fill, self.filled, self.released = stages, fill, 0, 0

    def ensure(self, i, n):
        assert i < self.filled or i == self.filled
        while self.filled < n and self.filled < self.released + self.stages:
            self.fill(self.filled, self.filled % self.stages)
            self.filled += 1
        assert i < self.filled

    def release(self):
        self.released += 1


def load_q(p, smem, qtile, rows_in_tile, pr0, row_offset, b, g, dims):
    for row in range(64):
        q = p.packed_row(b, g, pr0 + row_offset + row)
        vals = p.q[q["qRow"]] if q["valid"] else np.zeros(dims)
        for chunk in range(dims // 8):
            smem.store16(qtile + chunk_offset(rows_in_tile, row_offset + row, chunk), vals[8 * chunk: 8 * chunk + 8])


def dyn_base():
    base = 48  # the dynamic shared base is not assumed aligned: the kernels align it
    return base + ((1024 - (base & 1023)) & 1023)


def prefill_plan(d, cwg, ntok, stages, raw, fmt):
    quant = fmt != "bf16"
    rows = 64 * cwg
    tile = tile_bytes(ntok, d)
    raw_plane = ntok * raw_row_bytes(fmt, d) if quant else 0
    P = dict(rows=rows, tile=tile, raw_plane=raw_plane, raw_piece=raw_piece_bytes(fmt, d))
    P["Q"] = 0
    P["K"] = P["Q"] + tile_bytes(rows, d)
    P["V"] = P["K"] + stages * tile
    P["RAW"] = P["V"] + stages * tile
    P["end"] = P["RAW"] + raw * 2 * raw_plane
    return P


def run_prefill(p, d, cwg, ntok, stages, raw):
    """hopperPrefill: every block of the grid, then the output (one split)."""
    P = prefill_plan(d, cwg, ntok, stages, raw, p.fmt)
    out = np.full((p.batch * p.heads * p.rows, p.dv), np.nan)
    packed = p.rows * p.group_heads
    grid_x = (packed + P["rows"] - 1) // P["rows"]
    for bx in range(grid_x):
        for bg in range(p.batch * p.groups):
            b, g = bg // p.groups, bg % p.groups
            p._b, p._g = b, g
            row_tile = grid_x - 1 - bx
            pr0 = row_tile * P["rows"]
            pr_end = min(pr0 + P["rows"], packed)
            count, lst = build_tile_sequence(p, pr0, pr_end, ntok)
            begin, end = split_range(count, 0, 1)
            tile_of = (lambda i: lst[i]) if p.sparse else (lambda i: i)
            smem = Smem()
            base = dyn_base()
            row_base = bg * p.kv_len

            def fill(i, s):
                t0 = tile_of(begin + i) * ntok
                ks, vs = base + P["K"] + s * P["tile"], base + P["V"] + s * P["tile"]
                if p.fmt == "bf16":
                    for blk in range(d // 64):
                        for name, dst in (("k0", ks), ("v", vs)):
                            tma_box_sw128(smem, dst + blk * block_bytes(ntok),
                                          p.planes[name]["values"][row_base:row_base + p.kv_len], t0, 64 * blk, ntok,
                                          p.kv_len)
                else:
                    r = i % raw
                    rawb = base + P["RAW"] + r * 2 * P["raw_plane"]
                    for x in range(0, raw_row_bytes(p.fmt, d), P["raw_piece"]):
                        for name, dst in (("k0", rawb), ("v", rawb + P["raw_plane"])):
                            tma_box_raw(smem, dst + x * ntok, p.planes[name]["raw"][row_base:row_base + p.kv_len], t0, x,
                                        P["raw_piece"], ntok, p.kv_len)
                    convert_plane(p, smem, rawb, p.planes["k0"], row_base, t0, ks, 0, ntok, d)
                    convert_plane(p, smem, rawb + P["raw_plane"], p.planes["v"], row_base, t0, vs, 0, ntok, d)

            n = end - begin
            for c in range(cwg):
                load_q(p, smem, base + P["Q"], P["rows"], pr0, 64 * c, b, g, d)
            ring = Ring(stages, fill)
            wgs = []
            for c in range(cwg):
                wgs.append(dict(rp=[row_pair(p, b, g, pr0 + 64 * c + 16 * WARP[th] + GID[th]) for th in range(128)],
                                vis=[p.packed_row(b, g, pr0 + 64 * c + 16 * w)["visible"] for w in range(4)],
                                m=np.full((128, 2), -np.inf), l=np.zeros((128, 2)), o=np.zeros((128, d // 2)),
                                s=np.zeros((128, ntok // 2)), pw=None))
            for i in range(n):
                ring.ensure(i, n)
                st = i % stages
                t0 = tile_of(begin + i) * ntok
                for c, W in enumerate(wgs):  # every compute warpgroup reads the same stage before it is released
                    for ks in range(d // 16):
                        wgmma(W["s"], k_major_descriptor(base + P["Q"], P["rows"], 64 * c, ks),
                              k_major_descriptor(base + P["K"] + st * P["tile"], ntok, 0, ks), ntok, False, smem, ks > 0)
                    if W["pw"] is not None:  # O += P_{i-1}·V_{i-1}, issued with S_i
                        prev = (i - 1) % stages
                        for kk in range(ntok // 16):
                            wgmma(W["o"], W["pw"][kk], mn_major_descriptor(base + P["V"] + prev * P["tile"], ntok, 0, kk), d,
                                  True, smem, True, a_is_desc=False)
                    cf = softmax_by_warp(p, W, t0, ntok)
                    if i > 0:
                        rescale(W["o"], cf)
                    W["pw"] = pack_weights(W["s"])
                if i > 0:
                    ring.release()
            if n > 0:
                last = (n - 1) % stages
                for W in wgs:
                    for kk in range(ntok // 16):
                        wgmma(W["o"], W["pw"][kk], mn_major_descriptor(base + P["V"] + last * P["tile"], ntok, 0, kk), d, True,
                              smem, True, a_is_desc=False)
                ring.release()
            for W in wgs:
                store_rows(p, b, g, W["rp"], W["o"], 0, W["m"], W["l"], 0, 1, out, None, None, True)
    return out


def softmax_by_warp(p, W, t0, ntok):
    """softmaxTile for a warpgroup: the masked flag is the warp's (its first row's visibility)."""
    cf = np.ones((128, 2))
    for w in range(4):
        sel = WARP == w
        ss, mm, ll = W["s"][sel].copy(), W["m"][sel].copy(), W["l"][sel].copy()
        masked = p.sparse or t0 + ntok > W["vis"][w]
        cf[sel] = softmax_tile_warp(p, [W["rp"][th] for th in np.nonzero(sel)[0]], ss, t0, masked, mm, ll)
        W["s"][sel], W["m"][sel], W["l"][sel] = ss, mm, ll
    return cf


def softmax_tile_warp(p, rp, s, t0, masked, m, l):
    """softmax_tile for one warp's 32 threads (quad shuffles stay inside the warp)."""
    S = np.zeros((128, s.shape[1]))
    M = np.full((128, 2), -np.inf)
    L = np.zeros((128, 2))
    S[:32], M[:32], L[:32] = s, m, l
    RP = rp + [dict(visA=0, visB=0, selA=0, selB=0)] * 96
    # the warp's lanes keep their lane ids (TIG/GID depend on the lane only)
    c = softmax_tile(p, RP, S, t0, masked, M, L)
    s[:], m[:], l[:] = S[:32], M[:32], L[:32]
    return c[:32]


def mla_key_step(c, j):
    return 16 * c + j if j < 16 else 32 + 2 * c + (j - 16)


def run_mla(p, ntok, stages, raw, splits, overlap):
    """hopperMla: every block (row tile × batch × split), then combine when split."""
    rank, rope, dims = p.rank, p.rope, p.rank + p.rope
    tile = tile_bytes(ntok, dims)
    quant = p.fmt != "bf16"
    raw_ckv = ntok * raw_row_bytes(p.fmt, rank) if quant else 0
    raw_rope = ntok * raw_row_bytes(p.fmt, rope) if quant else 0
    QO, KO = 0, tile_bytes(64, dims)
    XO = KO + stages * tile
    RO = XO + 2 * (ntok // 2) * 128 * 4
    out = np.full((p.batch * p.heads * p.rows, p.dv), np.nan)
    part_o = np.full((p.batch * p.heads * p.rows * splits, p.dv), np.nan)
    part_ml = np.full((p.batch * p.heads * p.rows * splits, 2), np.nan)
    packed = p.rows * p.heads
    grid_x = (packed + 63) // 64
    for bx in range(grid_x):
        for b in range(p.batch):
            p._b, p._g = b, 0
            row_tile = grid_x - 1 - bx if p.prefill else bx
            pr0 = row_tile * 64
            pr_end = min(pr0 + 64, packed)
            count, lst = build_tile_sequence(p, pr0, pr_end, ntok)
            for z in range(splits):
                begin, end = split_range(count, z, splits)
                tile_of = (lambda i: lst[i]) if p.sparse else (lambda i: i)
                smem = Smem()
                base = dyn_base()
                row_base = b * p.kv_len

                def fill(i, s):
                    t0 = tile_of(begin + i) * ntok
                    dst = base + KO + s * tile
                    if not quant:
                        for blk in range(rank // 64):
                            tma_box_sw128(smem, dst + blk * block_bytes(ntok),
                                          p.planes["k0"]["values"][row_base:row_base + p.kv_len], t0, 64 * blk, ntok, p.kv_len)
                        tma_box_sw128(smem, dst + (rank // 64) * block_bytes(ntok),
                                      p.planes["k1"]["values"][row_base:row_base + p.kv_len], t0, 0, ntok, p.kv_len)
                    else:
                        r = i % raw
                        rawb = base + RO + r * (raw_ckv + raw_rope)
                        piece = raw_piece_bytes(p.fmt, rank)
                        for x in range(0, raw_row_bytes(p.fmt, rank), piece):
                            tma_box_raw(smem, rawb + x * ntok, p.planes["k0"]["raw"][row_base:row_base + p.kv_len], t0, x,
                                        piece, ntok, p.kv_len)
                        tma_box_raw(smem, rawb + raw_ckv, p.planes["k1"]["raw"][row_base:row_base + p.kv_len], t0, 0,
                                    raw_row_bytes(p.fmt, rope), ntok, p.kv_len)
                        convert_plane(p, smem, rawb, p.planes["k0"], row_base, t0, dst, 0, ntok, rank)
                        convert_plane(p, smem, rawb + raw_ckv, p.planes["k1"], row_base, t0, dst, rank // 8, ntok, rope)

                # Q by both warpgroups
                for row in range(64):
                    q = p.packed_row(b, 0, pr0 + row)
                    vals = p.q[q["qRow"]] if q["valid"] else np.zeros(dims)
                    for chunk in range(dims // 8):
                        smem.store16(base + QO + chunk_offset(64, row, chunk), vals[8 * chunk: 8 * chunk + 8])
                n = end - begin
                ring = Ring(stages, fill)
                rp = [row_pair(p, b, 0, pr0 + 16 * WARP[th] + GID[th]) for th in range(128)]
                warp_vis = [p.packed_row(b, 0, pr0 + 16 * w)["visible"] for w in range(4)]
                state = [dict(m=np.full((128, 2), -np.inf), l=np.zeros((128, 2)), o=np.zeros((128, 128)),
                              s=np.zeros((128, ntok // 2)), pw=None, rp=rp, vis=warp_vis) for _ in range(2)]
                exch = base + XO
                for i in range(n):
                    ring.ensure(i, n)
                    st = i % stages
                    t0 = tile_of(begin + i) * ntok
                    for c in range(2):  # partial scores, then the previous tile's P·V (both orders issue both)
                        S = state[c]
                        for j in range(18):
                            ks = mla_key_step(c, j)
                            wgmma(S["s"], k_major_descriptor(base + QO, 64, 0, ks),
                                  k_major_descriptor(base + KO + st * tile, ntok, 0, ks), ntok, False, smem, j > 0)
                        if S["pw"] is not None:
                            prev = (i - 1) % stages
                            for kk in range(ntok // 16):
                                wgmma(S["o"], S["pw"][kk], mn_major_descriptor(base + KO + prev * tile, ntok, 256 * c, kk),
                                      256, True, smem, True, a_is_desc=False)
                    # swap halves: each writes its partial at [c][k][tw], then adds the other's
                    for c in range(2):
                        for k in range(ntok // 2):
                            smem.v16[(exch + (c * (ntok // 2) + k) * 128 * 4) // 2 + np.arange(128) * 2] = state[c]["s"][:, k]
                    for c in range(2):
                        other = 1 - c
                        if "drop-half" in MUT:
                            other = c
                        for k in range(ntok // 2):
                            theirs = smem.v16[(exch + (other * (ntok // 2) + k) * 128 * 4) // 2 + np.arange(128) * 2]
                            state[c]["s"][:, k] = state[c]["s"][:, k] + theirs
                    for c in range(2):
                        S = state[c]
                        cf = softmax_by_warp(p, S, t0, ntok)
                        if i > 0:
                            rescale(S["o"], cf)
                        S["pw"] = pack_weights(S["s"])
                    if i > 0:
                        ring.release()
                if n > 0:
                    last = (n - 1) % stages
                    for c in range(2):
                        S = state[c]
                        for kk in range(ntok // 16):
                            wgmma(S["o"], S["pw"][kk], mn_major_descriptor(base + KO + last * tile, ntok, 256 * c, kk), 256,
                                  True, smem, True, a_is_desc=False)
                    ring.release()
                for c in range(2):
                    S = state[c]
                    store_rows(p, b, 0, rp, S["o"], 256 * c, S["m"], S["l"], z, splits, out, part_o, part_ml, c == 0)
    if splits > 1:
        combine(p, part_o, part_ml, splits, out)
    return out


# ============================================================ the mbarrier protocol

class Barrier:
    def __init__(self, count):
        self.count, self.pending, self.tx, self.phase = count, count, 0, 0

    def arrive(self, tx=0):
        self.tx += tx
        self.pending -= 1
        self._maybe_complete()

    def complete_tx(self, nbytes):
        self.tx -= nbytes
        self._maybe_complete()

    def _maybe_complete(self):
        assert self.pending >= 0, "more arrivals than the barrier's count"
        if self.pending == 0 and self.tx == 0:
            self.phase += 1
            self.pending = self.count

    def done(self, parity):  # try_wait.parity: the phase of this parity has completed
        return (self.phase & 1) != parity


def protocol(n, stages, raw, warps, rng):
    """The copy warp, the converters (raw > 0) and `warps` compute warps as generators over one stage ring, run
    in a random interleaving. Returns an error string or None."""
    flip = 0 if "parity" in MUT else 1
    full = [Barrier(1 if raw == 0 else 3) for _ in range(stages)]
    empty = [Barrier(warps) for _ in range(stages)]
    rfull = [Barrier(1) for _ in range(raw)]
    rempty = [Barrier(3) for _ in range(raw)]
    holds = [None] * stages   # which tile a stage holds (None: being written)
    rholds = [None] * max(raw, 1)
    inflight = []             # (barrier, bytes, stage kind, slot, tile)
    log = []

    def wait(bar, parity):
        while not bar.done(parity):
            yield

    def copier():
        for i in range(n):
            if raw == 0:
                s = i % stages
                yield from wait(empty[s], ((i // stages) & 1) ^ flip)
                if any(h == "reading" for h in [holds[s]]):
                    log.append(f"copy of tile {i} into stage {s} while it is read")
                full[s].arrive(tx=100)
                holds[s] = None
                inflight.append((full[s], 100, "stage", s, i))
            else:
                r = i % raw
                yield from wait(rempty[r], ((i // raw) & 1) ^ flip)
                rfull[r].arrive(tx=50)
                rholds[r] = None
                inflight.append((rfull[r], 50, "raw", r, i))
            yield

    def converter(w):
        for i in range(n):
            r, s = i % raw, i % stages
            yield from wait(rfull[r], (i // raw) & 1)
            if rholds[r] != i:
                log.append(f"converter {w} read raw slot {r} holding {rholds[r]}, wanted {i}")
            yield from wait(empty[s], ((i // stages) & 1) ^ flip)
            holds[s] = i
            yield
            full[s].arrive()
            rempty[r].arrive()
            yield

    def compute(w):
        for i in range(n):
            s = i % stages
            yield from wait(full[s], (i // stages) & 1)
            if holds[s] != i:
                log.append(f"warp {w} read stage {s} holding {holds[s]}, wanted tile {i}")
            yield
            if holds[s] != i:
                log.append(f"stage {s} overwritten while warp {w} read tile {i}")
            empty[s].arrive()
            yield

    actors = [copier()] + [converter(w) for w in range(3) if raw] + [compute(w) for w in range(warps)]
    alive = list(range(len(actors)))
    steps = 0
    while alive:
        steps += 1
        if steps > 200000:
            return "deadlock: no progress"
        if inflight and rng.random() < 0.3:  # a bulk copy lands
            bar, nbytes, kind, slot, tile = inflight.pop(int(rng.integers(len(inflight))))
            if kind == "stage":
                holds[slot] = tile
            else:
                rholds[slot] = tile
            bar.complete_tx(nbytes)
            continue
        k = alive[int(rng.integers(len(alive)))]
        try:
            next(actors[k])
        except StopIteration:
            alive.remove(k)
    return log[0] if log else None


# ============================================================ the cases

def rel(out, ref):
    if np.isnan(out).any():
        return np.inf
    return np.linalg.norm(out - ref) / np.linalg.norm(ref)


def cases():
    rng = np.random.default_rng(3)
    out = []

    def dense(name, d, cwg, ntok, stages, raw=0, **kw):
        def f():
            p = Problem(rng, **kw, d=d)
            return rel(run_prefill(p, d, cwg, ntok, stages, raw), p.reference())
        out.append((name, f))

    def mla(name, ntok, stages, raw, splits, overlap, **kw):
        def f():
            p = Problem(rng, mla=True, groups=1, d=0, **kw)
            return rel(run_mla(p, ntok, stages, raw, splits, overlap), p.reference())
        out.append((name, f))

    dense("prefill d64 GQA 4, 2 warpgroups, 64-token tiles, kvLen > qLen", 64, 2, 64, 2,
          batch=1, heads=8, groups=2, q_len=37, kv_len=90, prefill=True)
    dense("prefill d128 MHA, 1 warpgroup, 128-token tiles, 3 stages", 128, 1, 128, 3,
          batch=1, heads=2, groups=2, q_len=70, kv_len=300, prefill=True)
    dense("prefill d64 NSA (union list, per-row bits), block 16", 64, 2, 64, 2,
          batch=1, heads=4, groups=1, q_len=150, kv_len=150, prefill=True, sparse=True, bs=16)
    for fmt in ("int8", "fp8", "int4"):
        dense(f"prefill d64 kv-{fmt} (raw copies, converter)", 64, 1, 32, 2, raw=1,
              batch=1, heads=4, groups=1, q_len=20, kv_len=50, prefill=True, fmt=fmt)
    mla("mla decode 16 heads, 32-token tiles, 3 stages", 32, 3, 0, 1, True, batch=2, heads=16, q_len=1, kv_len=75,
        prefill=False)
    mla("mla decode 128 heads (two row tiles), 3 splits + combine", 32, 2, 0, 3, True, batch=1, heads=128, q_len=1,
        kv_len=100, prefill=False)
    mla("mla prefill 16 heads (4 positions a block), 48-token tiles", 48, 2, 0, 1, False, batch=1, heads=16, q_len=7,
        kv_len=60, prefill=True)
    mla("mla+sparse decode, block 16, 2 splits", 32, 3, 0, 2, True, batch=1, heads=16, q_len=1, kv_len=140,
        prefill=False, sparse=True, bs=16)
    mla("mla kv-int8 decode, 2 raw stages", 32, 2, 2, 1, False, batch=1, heads=16, q_len=1, kv_len=40, prefill=False,
        fmt="int8")
    mla("mla kv-int4 decode", 32, 2, 2, 2, False, batch=1, heads=16, q_len=1, kv_len=40, prefill=False, fmt="int4")
    return out


def protocol_cases():
    rng = np.random.default_rng(11)
    out = []
    for n, stages, raw, warps in ((9, 2, 0, 8), (10, 3, 0, 8), (1, 2, 0, 4), (11, 2, 1, 8), (12, 2, 2, 8), (7, 3, 2, 4)):
        out.append((f"mbarrier protocol: {n} tiles, {stages} stages, {raw} raw stages, {warps} compute warps",
                    lambda n=n, s=stages, r=raw, w=warps: protocol(n, s, r, w, rng)))
    return out


def main():
    failed = 0
    for name, f in cases():
        e = f()
        ok = e < 1e-9
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: rel err {e:.2e}")
    for name, f in protocol_cases():
        err = None
        for _ in range(20):
            err = f() or err
        failed += err is not None
        print(f"{'ok  ' if err is None else 'FAIL'} {name}{'' if err is None else ': ' + err}")
    # Mutations of the kernel side must be caught.
    mutations = {
        "lbo-sbo": "values descriptor with LBO and SBO swapped",
        "no-swizzle-store": "Q and converted tiles stored without the 128-byte swizzle",
        "kstep": "K-major k-step of 16 bytes instead of 32",
        "pack-order": "weights packed into the wrong A registers",
        "drop-half": "MLA warpgroup adding its own half instead of the other's",
        "drop-union": "NSA union list missing its last tile",
    }
    rng = np.random.default_rng(5)
    for key, what in mutations.items():
        MUT.clear()
        MUT.add(key)
        if key == "drop-half":
            p = Problem(rng, mla=True, groups=1, d=0, batch=1, heads=16, q_len=1, kv_len=40, prefill=False)
            e = rel(run_mla(p, 32, 2, 0, 1, True), p.reference())
        elif key == "no-swizzle-store":
            p = Problem(rng, batch=1, heads=4, groups=1, d=64, q_len=20, kv_len=50, prefill=True, fmt="int8")
            e = rel(run_prefill(p, 64, 1, 32, 2, 1), p.reference())
        else:
            p = Problem(rng, batch=1, heads=4, groups=1, d=64, q_len=40, kv_len=80, prefill=True, sparse=key == "drop-union",
                        bs=16)
            e = rel(run_prefill(p, 64, 1, 64, 2, 0), p.reference())
        caught = not e < 1e-9
        failed += not caught
        print(f"{'ok  ' if caught else 'FAIL'} mutation caught ({what}): rel err {e:.2e}")
    MUT.clear()
    MUT.add("parity")
    err = protocol(6, 2, 0, 4, np.random.default_rng(1))
    failed += err is None
    print(f"{'ok  ' if err else 'FAIL'} mutation caught (producer waits on the empty barrier without the parity flip): {err}")
    MUT.clear()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
