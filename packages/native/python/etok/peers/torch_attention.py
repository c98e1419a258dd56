"""PyTorch's implementations of etok's lever sets: the peers of ``etok bench --peer torch``.

Each is registered with the lever set it computes (its ``reference``), so etok measures it in the same interleaved
group as its own kernel for that set, on the same inputs, and checks it against the same fp64 reference:

- ``dense``: ``scaled_dot_product_attention`` with each backend (flash, cuDNN, memory-efficient), GQA through
  ``enable_gqa``, causal prefill aligned to the end of the context (``causal_lower_right``) as etok's is;
- ``mla``: absorbed-matrix MLA (scores from the latent cache and the rope keys in one product, softmax in float32,
  values from the latent cache), and the same through SDPA, which picks its own backend;
- ``sparse``: FlexAttention with a block mask of the NSA selection (sink block, local window, top-k blocks by the
  group's score against block means), the selection computed by torch operations inside every call.

A backend that cannot run a problem (a dtype or head size it lacks, the CPU) raises ``etok.Unsupported`` from its
setup, and etok reports it beside the result instead of failing. Lever sets PyTorch has no form of are listed in
``NO_PEER_REASONS``: etok says "no peer" for them, never a substitute.
"""

from __future__ import annotations

import etok

NO_PEER_REASONS = {}

try:
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.bias import causal_lower_right
    from torch.nn.attention.flex_attention import BlockMask, flex_attention
except Exception as exc:  # noqa: BLE001 - PyTorch absent or too old: no peers, and the reason
    NO_PEER_REASONS["all"] = f"{type(exc).__name__}: {exc}"
    torch = None

QUANTIZED = "PyTorch has no attention kernel that reads a quantized KV cache as stored (dequantizing first would measure another algorithm)"
if torch is not None:
    NO_PEER_REASONS.update(
        {
            "kv-int8": QUANTIZED,
            "kv-int4": QUANTIZED,
            "kv-fp8": QUANTIZED,
            "mla+sparse": "PyTorch has no form of NSA block selection over MLA's latent cache",
        }
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _trial(call, what: str):
    """Runs one call so a backend that cannot take this problem says so at setup, as Unsupported."""
    try:
        call()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    except RuntimeError as exc:
        raise etok.Unsupported(f"{what}: {_first_line(exc)}") from exc
    return call


def _causal_kwargs(problem):
    """Causal prefill sees kv positions <= kvLen - qLen + row: the causal mask aligned to the bottom right."""
    s = problem.shape
    if problem.phase != "prefill":
        return {}
    if s["qLen"] == s["kvLen"]:
        return {"is_causal": True}
    return {"attn_mask": causal_lower_right(s["qLen"], s["kvLen"])}


def _sdpa(backend_name: str):
    def setup(problem):
        backend = getattr(SDPBackend, backend_name)
        t = problem.torch()
        q, k, v = t["q"], t["k"], t["v"]
        gqa = problem.shape["heads"] != problem.shape["kvHeads"]
        kwargs = dict(scale=problem.params["scale"], enable_gqa=gqa, **_causal_kwargs(problem))
        # The backend choice is process-wide state; this process runs one callable, so it is set once.
        sdpa_kernel([backend]).__enter__()

        def call():
            return F.scaled_dot_product_attention(q, k, v, **kwargs)

        return _trial(call, f"SDPA {backend_name.lower()} backend")

    return setup


def _mla_operands(problem):
    """Queries [b, h, q, rank + rope], keys [b, 1, kv, rank + rope] and values [b, 1, kv, rank] of absorbed MLA."""
    t = problem.torch()
    q = torch.cat([t["qNope"], t["qRope"]], dim=-1)
    k = torch.cat([t["ckv"], t["kRope"]], dim=-1).unsqueeze(1)
    v = t["ckv"].unsqueeze(1)
    return q, k, v


def _mla_mask(problem, device):
    s = problem.shape
    if problem.phase != "prefill":
        return None
    rows = torch.arange(s["qLen"], device=device).unsqueeze(1)
    cols = torch.arange(s["kvLen"], device=device).unsqueeze(0)
    return cols > rows + (s["kvLen"] - s["qLen"])  # True where a row may not look


def _mla_matmul(problem):
    q, k, v = _mla_operands(problem)
    scale = problem.params["scale"]
    hidden = _mla_mask(problem, q.device)

    def call():
        scores = torch.matmul(q, k.transpose(-1, -2)).float() * scale  # [b, h, q, kv]: every head on one latent
        if hidden is not None:
            scores = scores.masked_fill(hidden, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1).to(v.dtype), v)

    return _trial(call, "absorbed-matrix MLA")


def _mla_sdpa(problem):
    q, k, v = _mla_operands(problem)
    kwargs = dict(scale=problem.params["scale"], enable_gqa=True, **_causal_kwargs(problem))

    def call():
        return F.scaled_dot_product_attention(q, k, v, **kwargs)

    return _trial(call, "MLA through SDPA")


def _nsa_selection(q, k, problem):
    """The NSA selection of docs/spec.md §3 for each (batch, kv group, query row), as a bool tensor [b, g, rows, blocks].

    Block score = sum over the group's query heads of q . mean(visible keys of the block); selected = block 0, the
    blocks holding the last `window` visible tokens, and the top-k other blocks (ties to the lower index).
    """
    s, p = problem.shape, problem.params
    b, h, rows, d = q.shape
    g = s["kvHeads"]
    L, bs = s["kvLen"], p["blockSize"]
    nb = (L + bs - 1) // bs
    qf, kf = q.float(), k.float()
    pad = nb * bs - L
    kp = F.pad(kf, (0, 0, 0, pad)).view(b, g, nb, bs, d)
    # Visible tokens of each row: 0 .. last (inclusive); decode sees all of them.
    if problem.phase == "prefill":
        last = torch.arange(rows, device=q.device) + (L - rows)
    else:
        last = torch.full((rows,), L - 1, device=q.device)
    block_start = torch.arange(nb, device=q.device) * bs
    visible = (last.unsqueeze(1) - block_start.unsqueeze(0) + 1).clamp(0, bs)  # [rows, nb] tokens seen per block
    prefix = kp.cumsum(dim=3)  # [b, g, nb, bs, d]: sums of the first j + 1 tokens of each block
    idx = (visible - 1).clamp(min=0)  # [rows, nb]
    sums = prefix[:, :, torch.arange(nb, device=q.device).unsqueeze(0), idx]  # [b, g, rows, nb, d]
    means = sums / visible.clamp(min=1).unsqueeze(-1).to(sums.dtype)
    qg = qf.view(b, g, h // g, rows, d).sum(dim=2)  # the group's heads summed: [b, g, rows, d]
    scores = torch.einsum("bgrd,bgrnd->bgrn", qg, means)
    seen = visible > 0
    first_window = ((last + 1 - p["window"]).clamp(min=0) // bs).unsqueeze(1)  # [rows, 1]
    blocks = torch.arange(nb, device=q.device).unsqueeze(0)
    forced = ((blocks == 0) | ((blocks >= first_window) & seen)).expand(b, g, rows, nb)
    candidates = scores.masked_fill(forced | ~seen, float("-inf"))
    order = torch.sort(candidates, dim=-1, descending=True, stable=True).indices
    top = order[..., : p["topK"]]
    chosen = torch.zeros_like(forced)
    chosen.scatter_(-1, top, torch.gather(torch.isfinite(candidates), -1, top))
    return (forced | chosen) & seen


def _flex_nsa(problem):
    s, p = problem.shape, problem.params
    t = problem.torch()
    q, k, v = t["q"], t["k"], t["v"]
    b, h, rows, _ = q.shape
    g, bs, L = s["kvHeads"], p["blockSize"], s["kvLen"]
    nb = (L + bs - 1) // bs
    q_block = 128 if rows >= 128 else max(16, 1 << (rows - 1).bit_length())
    nqb = (rows + q_block - 1) // q_block
    compiled = torch.compile(flex_attention, dynamic=False)

    def call():
        selected = _nsa_selection(q, k, problem)  # [b, g, rows, nb]
        heads = selected.repeat_interleave(h // g, dim=1)  # [b, h, rows, nb]

        def mask_mod(bi, hi, qi, ki):
            return heads[bi, hi, qi, ki // bs]

        # The kv blocks each query block needs: the union of its rows' selections (a row's own mask is exact).
        padded = F.pad(heads, (0, 0, 0, nqb * q_block - rows)).view(b, h, nqb, q_block, nb).any(dim=3)
        order = torch.sort(padded.to(torch.int8), dim=-1, descending=True, stable=True).indices.to(torch.int32)
        mask = BlockMask.from_kv_blocks(
            padded.sum(dim=-1).to(torch.int32),
            order,
            KV_BLOCK_SIZE=bs,
            Q_BLOCK_SIZE=q_block,
            mask_mod=mask_mod,
            seq_lengths=(rows, L),
        )
        return compiled(q, k, v, block_mask=mask, scale=p["scale"], enable_gqa=h != g)

    return _trial(call, "FlexAttention NSA")


if torch is not None:
    for backend in ("FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION"):
        name = "sdpa-" + {"FLASH_ATTENTION": "flash", "CUDNN_ATTENTION": "cudnn", "EFFICIENT_ATTENTION": "efficient"}[backend]
        etok.register(name, _sdpa(backend), reference="dense", description=f"torch SDPA, {backend.lower()} backend")
    etok.register("mla-absorbed", _mla_matmul, reference="mla", description="torch absorbed-matrix MLA (matmul, softmax, matmul)")
    etok.register("mla-sdpa", _mla_sdpa, reference="mla", description="torch SDPA on MLA's latent cache (backend of its choice)")
    etok.register("flex-nsa", _flex_nsa, reference="sparse", description="torch FlexAttention with the NSA block selection")
