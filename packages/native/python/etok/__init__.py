"""Measure your own attention kernels with etok, from Python.

A file given to ``etok bench --python FILE.py`` registers callables::

    import etok

    def setup(problem):
        t = problem.torch()                       # q, k, v as torch tensors on problem.device, at problem.dtype
        def call():
            return my_attention(t["q"], t["k"], t["v"])
        return call

    etok.register("mine", setup)                  # measured as variant "mine", judged against etok's "dense"

etok calls ``setup(problem)`` once per configuration of its sweep; the callable it returns performs one call
and returns the output (a NumPy, torch, CuPy or JAX array in etok's layout) so etok can check it against its
fp64 reference. etok then times and meters the callable under the same rules as its own kernels. Raise
``etok.Unsupported("why")`` from setup for a problem the kernel does not handle.

This module imports no framework; the ``Problem`` helpers import one only when asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

__all__ = ["Problem", "Unsupported", "register", "registered"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LEVERS = {"mla", "sparse", "kv-int8", "kv-int4", "kv-fp8"}


class Unsupported(Exception):
    """Raised by a setup function for a problem its kernel cannot run (etok reports it, it is not a failure)."""


@dataclass
class Registration:
    name: str
    setup: Callable[["Problem"], Callable[[], Any]]
    reference: str
    description: str
    sync: Optional[Callable[[], None]]


_registry: Dict[str, Registration] = {}


def _check_reference(reference: str) -> str:
    if reference == "dense":
        return reference
    levers = reference.split("+")
    if len(set(levers)) != len(levers) or not set(levers) <= _LEVERS:
        raise ValueError(
            f"reference {reference!r} is not a lever set: 'dense' or levers joined by '+' "
            f"({', '.join(sorted(_LEVERS))})"
        )
    if sum(1 for lever in levers if lever.startswith("kv-")) > 1:
        raise ValueError(f"reference {reference!r} has more than one kv-* lever")
    return reference


def register(
    name: str,
    setup: Callable[["Problem"], Callable[[], Any]],
    *,
    reference: str = "dense",
    description: str = "",
    sync: Optional[Callable[[], None]] = None,
) -> Callable[["Problem"], Callable[[], Any]]:
    """Registers ``setup`` under ``name``.

    ``reference`` is the etok lever set the callable computes (its inputs follow that set's layout and its output is
    judged against that set's fp64 reference). ``sync`` waits for the device's queued work; by default etok
    synchronises torch or CuPy on a CUDA device, and waits on a returned JAX array.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"etok.register: name {name!r} must be letters, digits, '_', '.', '-' (at most 64)")
    if name in _registry:
        raise ValueError(f"etok.register: {name!r} is registered twice")
    if not callable(setup):
        raise TypeError(f"etok.register({name!r}): setup must be callable")
    if sync is not None and not callable(sync):
        raise TypeError(f"etok.register({name!r}): sync must be callable")
    _registry[name] = Registration(name, setup, _check_reference(reference), description, sync)
    return setup


def registered() -> Dict[str, Registration]:
    """The registrations made so far, by name."""
    return dict(_registry)


_TORCH_DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


@dataclass
class Problem:
    """One configuration of etok's sweep: what to compute and the inputs to compute it on.

    ``shape`` holds docs/spec.md §3's fields (batch, heads, kvHeads, headDim, qLen, kvLen, rank, ropeDim), ``params`` the
    scale (already resolved), blockSize, topK and window. ``inputs`` are float32 NumPy arrays in etok's layout (q, k,
    v, or qNope, qRope, ckv, kRope), the same values etok's kernels get; ``output_shape`` is the output's layout.
    """

    variant: str
    phase: str
    dtype: str
    device: str
    shape: Dict[str, int]
    params: Dict[str, Any]
    inputs: Dict[str, Any] = field(default_factory=dict)
    output_shape: tuple = ()

    @property
    def cuda_index(self) -> Optional[int]:
        """N for a cuda:N device, None for the CPU."""
        return int(self.device.split(":")[1]) if self.device.startswith("cuda:") else None

    def torch(self, dtype: Optional[str] = None) -> Dict[str, Any]:
        """The inputs as torch tensors on this problem's device, at its dtype (or ``dtype``: f32, bf16, f16)."""
        import torch  # noqa: PLC0415 - only when asked

        target = getattr(torch, _TORCH_DTYPES[dtype or self.dtype])
        device = torch.device("cpu" if self.cuda_index is None else f"cuda:{self.cuda_index}")
        return {k: torch.from_numpy(v).to(device=device, dtype=target).contiguous() for k, v in self.inputs.items()}

    def cupy(self, dtype: Optional[str] = None) -> Dict[str, Any]:
        """The inputs as CuPy arrays on this problem's CUDA device (f32 or f16; CuPy has no bf16)."""
        import cupy  # noqa: PLC0415

        name = dtype or self.dtype
        if name == "bf16":
            raise Unsupported("CuPy has no bfloat16; ask for dtype='f32' or 'f16'")
        with cupy.cuda.Device(self.cuda_index or 0):
            return {k: cupy.asarray(v, dtype=_TORCH_DTYPES[name]) for k, v in self.inputs.items()}

    def jax(self) -> Dict[str, Any]:
        """The inputs as JAX arrays on JAX's default device for this platform, at this problem's dtype."""
        import jax.numpy as jnp  # noqa: PLC0415

        return {k: jnp.asarray(v, dtype=_TORCH_DTYPES[self.dtype]) for k, v in self.inputs.items()}
