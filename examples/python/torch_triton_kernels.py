"""Two attention kernels written in Python, measured by etok beside its own:

    etok bench --device cuda:0 --meter nvml:0 --python examples/python/torch_triton_kernels.py \\
               --variants dense,torch-eager,triton-decode --dtype bf16 --batch 8 --ctx 16k --heads 64 --kv-heads 8

- ``torch-eager``: GQA attention as a PyTorch user writes it first (repeat the kv heads, matmul, softmax, matmul);
- ``triton-decode``: a one-pass decode kernel in Triton (one program per sequence and query head, online softmax
  over key blocks).

Both compute etok's ``dense`` lever set, so etok feeds them its inputs and checks their output against its fp64
dense reference. Each setup raises ``etok.Unsupported`` for what it does not handle; etok reports that beside the
results instead of failing.
"""

import etok

try:
    import torch
except ImportError as exc:  # the file still imports, and etok says why nothing can run
    raise ImportError("this example needs PyTorch (and Triton for triton-decode)") from exc


def torch_eager(problem):
    t = problem.torch()
    q, k, v = t["q"], t["k"], t["v"]
    group = problem.shape["heads"] // problem.shape["kvHeads"]
    scale = problem.params["scale"]
    hidden = None
    if problem.phase == "prefill":  # row i sees kv positions <= kvLen - qLen + i
        rows = torch.arange(problem.shape["qLen"], device=q.device).unsqueeze(1)
        cols = torch.arange(problem.shape["kvLen"], device=q.device).unsqueeze(0)
        hidden = cols > rows + (problem.shape["kvLen"] - problem.shape["qLen"])

    def call():
        kk = k.repeat_interleave(group, dim=1)
        vv = v.repeat_interleave(group, dim=1)
        scores = torch.matmul(q, kk.transpose(-1, -2)).float() * scale
        if hidden is not None:
            scores = scores.masked_fill(hidden, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1).to(vv.dtype), vv)

    return call


try:
    import triton
    import triton.language as tl
except ImportError:
    triton = None

if triton is not None:

    @triton.jit
    def _decode_kernel(Q, K, V, O, scale, L, GROUP: tl.constexpr, H: tl.constexpr, KVH: tl.constexpr,
                       D: tl.constexpr, BLOCK: tl.constexpr):
        b = tl.program_id(0)
        h = tl.program_id(1)
        kvh = h // GROUP
        dims = tl.arange(0, D)
        q = tl.load(Q + (b * H + h) * D + dims).to(tl.float32)
        kv_base = (b * KVH + kvh) * L * D
        m = tl.full([1], float("-inf"), tl.float32)  # running max, sum and output of the online softmax
        l = tl.zeros([1], tl.float32)
        acc = tl.zeros([D], tl.float32)
        for start in range(0, L, BLOCK):
            tokens = start + tl.arange(0, BLOCK)
            live = tokens < L
            offsets = kv_base + tokens[:, None] * D + dims[None, :]
            k = tl.load(K + offsets, mask=live[:, None], other=0.0).to(tl.float32)
            s = tl.where(live, tl.sum(k * q[None, :], axis=1) * scale, float("-inf"))
            m_new = tl.maximum(m, tl.max(s, axis=0))
            p = tl.exp(s - m_new)
            alpha = tl.exp(m - m_new)
            v = tl.load(V + offsets, mask=live[:, None], other=0.0).to(tl.float32)
            acc = acc * alpha + tl.sum(p[:, None] * v, axis=0)
            l = l * alpha + tl.sum(p, axis=0)
            m = m_new
        tl.store(O + (b * H + h) * D + dims, (acc / l).to(O.dtype.element_ty))


def triton_decode(problem):
    if triton is None:
        raise etok.Unsupported("Triton is not installed")
    if problem.phase != "decode" or problem.cuda_index is None:
        raise etok.Unsupported("triton-decode is a GPU decode kernel")
    d = problem.shape["headDim"]
    if d & (d - 1):
        raise etok.Unsupported(f"head dim {d} is not a power of two")
    t = problem.torch()
    q, k, v = t["q"], t["k"], t["v"]
    s = problem.shape
    out = torch.empty_like(q)
    grid = (s["batch"], s["heads"])
    args = dict(GROUP=s["heads"] // s["kvHeads"], H=s["heads"], KVH=s["kvHeads"], D=d, BLOCK=64)

    def call():
        _decode_kernel[grid](q, k, v, out, problem.params["scale"], s["kvLen"], **args)
        return out

    return call


etok.register("torch-eager", torch_eager, description="PyTorch eager GQA attention (repeat kv, matmul, softmax, matmul)")
etok.register("triton-decode", triton_decode, description="Triton one-pass decode, online softmax over 64-token blocks")
