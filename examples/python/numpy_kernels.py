"""A kernel written in NumPy, measured by etok beside its own (needs NumPy):

    etok bench --python examples/python/numpy_kernels.py --ctx 4k

``numpy-dense`` computes etok's ``dense`` lever set (GQA decode or causal prefill), so etok feeds it its inputs
and checks its output against the fp64 dense reference.
"""

import numpy as np

import etok


def numpy_dense(problem):
    q, k, v = (problem.inputs[name] for name in ("q", "k", "v"))
    group = q.shape[1] // k.shape[1]
    scale = problem.params["scale"]
    rows, kv_len = q.shape[2], k.shape[2]
    # Causal prefill: row i sees kv positions <= kvLen - qLen + i (decode: all of them).
    hidden = np.arange(kv_len)[None, :] > np.arange(rows)[:, None] + (kv_len - rows)

    def call():
        kk = np.repeat(k, group, axis=1)
        vv = np.repeat(v, group, axis=1)
        scores = np.einsum("bhqd,bhtd->bhqt", q, kk) * scale
        scores = np.where(hidden, -np.inf, scores)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return np.einsum("bhqt,bhtd->bhqd", weights / weights.sum(axis=-1, keepdims=True), vv)

    return call


etok.register("numpy-dense", numpy_dense, description="NumPy einsum attention (repeat kv heads, softmax, einsum)")
