"""The child side of etok's executor protocol for Python callables (docs/harness.md, "Executors in another process").

etok starts ``python3 -m etok._executor`` with commands on one pipe and replies on another (their numbers in
ETOK_EXECUTOR_FDS), one JSON object a line each way. What the user's code prints reaches etok's stderr. Every
exception becomes a reply with its type, message and traceback; a crash ends the process, and etok records it.

``python3 -m etok._executor --list FILE --out PATH`` imports FILE and writes the registered callables as JSON.
"""

from __future__ import annotations

import faulthandler
import hashlib
import importlib.util
import json
import mmap
import os
import struct
import sys
import time
import traceback
from typing import Any, Callable, Dict, Optional

import etok

PROTOCOL = "etok-executor/1"


def _load_user_file(path: str) -> Any:
    """Imports the user's file as a module of its own, with its directory importable (for its own helpers)."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is not a file")
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = "etok_user_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _error(exc: BaseException, code: str = "EXECUTOR_EXCEPTION") -> Dict[str, Any]:
    return {
        "ok": False,
        "error": {
            "code": code,
            "type": type(exc).__name__,
            "message": str(exc) or type(exc).__name__,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        },
    }


def _framework() -> str:
    for name in ("torch", "cupy", "jax"):
        if name in sys.modules:
            return name
    return "numpy" if "numpy" in sys.modules else ""


def _framework_version(name: str) -> str:
    module = sys.modules.get(name)
    return str(getattr(module, "__version__", "")) if module else ""


def to_numpy(out: Any) -> Any:
    """The output as a float32 C-ordered NumPy array, whatever framework returned it."""
    import numpy as np  # noqa: PLC0415

    if isinstance(out, (tuple, list)) and len(out) > 0:
        out = out[0]  # e.g. (output, lse)
    module = type(out).__module__.split(".")[0]
    if module == "torch":
        out = out.detach().float().cpu().numpy()
    elif module == "cupy":
        out = out.get()
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32))


class Session:
    """One registered callable set up for one problem."""

    def __init__(self, message: Dict[str, Any]) -> None:
        import numpy as np  # noqa: PLC0415 - inputs travel as NumPy arrays

        payload = message["payload"]
        _load_user_file(payload["file"])
        name = payload["name"]
        registrations = etok.registered()
        if name not in registrations:
            known = ", ".join(sorted(registrations)) or "none"
            raise LookupError(f"{payload['file']} registers no callable named {name!r} (it registers: {known})")
        self.registration = registrations[name]
        p = message["problem"]
        inputs = {}
        for spec in message.get("inputs") or []:
            inputs[spec["name"]] = np.fromfile(spec["file"], dtype=np.float32).reshape(spec["dims"])
        self.problem = etok.Problem(
            variant=p["variant"],
            phase=p["phase"],
            dtype=p["dtype"],
            device=p["device"],
            shape=dict(p["shape"]),
            params=dict(p["params"]),
            inputs=inputs,
            output_shape=tuple(p["output"]["dims"]),
        )
        self.call: Callable[[], Any] = self.registration.setup(self.problem)
        if not callable(self.call):
            raise TypeError(f"setup of {name!r} returned {type(self.call).__name__}, not a callable")
        self.control = self._map_control(message["control"])
        self.scratch: Optional[Any] = None

    @staticmethod
    def _map_control(path: str) -> mmap.mmap:
        with open(path, "r+b") as f:
            return mmap.mmap(f.fileno(), 4096)

    def info(self) -> Dict[str, Any]:
        framework = _framework()
        return {
            "name": self.registration.name,
            "description": self.registration.description,
            "framework": framework,
            "version": _framework_version(framework),
        }

    def sync(self, out: Any) -> None:
        """Waits for the device: the callable's own sync, else torch / CuPy on a CUDA device, and a JAX result."""
        if self.registration.sync is not None:
            self.registration.sync()
        elif self.problem.cuda_index is not None:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_initialized():
                torch.cuda.synchronize(self.problem.cuda_index)
            cupy = sys.modules.get("cupy")
            if cupy is not None:
                cupy.cuda.runtime.deviceSynchronize()
        if hasattr(out, "block_until_ready"):
            out.block_until_ready()

    def flush_device_caches(self) -> None:
        """Evicts the GPU's L2 before a cold call by writing a buffer larger than any L2 (torch or CuPy)."""
        if self.problem.cuda_index is None:
            return
        torch = sys.modules.get("torch")
        if torch is not None:
            if self.scratch is None:
                self.scratch = torch.empty(256 << 20, dtype=torch.uint8, device=f"cuda:{self.problem.cuda_index}")
            self.scratch.zero_()
            torch.cuda.synchronize(self.problem.cuda_index)

    def output(self, path: str) -> Dict[str, Any]:
        out = self.call()
        self.sync(out)
        if out is None:
            return {"ok": True, "written": False, "reason": "the callable returned None (return the output to have it checked)"}
        array = to_numpy(out)
        expected = 1
        for d in self.problem.output_shape:
            expected *= d
        if array.size != expected:
            raise ValueError(
                f"the callable returned {array.size} values of shape {tuple(array.shape)}; "
                f"the output has shape {self.problem.output_shape}"
            )
        array.tofile(path)
        return {"ok": True, "written": True}

    def time(self, n: int, cold: bool) -> Dict[str, Any]:
        samples = []
        for _ in range(n):
            if cold:
                self.flush_device_caches()
            t0 = time.perf_counter_ns()
            out = self.call()
            self.sync(out)
            samples.append((time.perf_counter_ns() - t0) * 1e-9)
        return {"ok": True, "samples": samples}

    def run(self, seq: int) -> Dict[str, Any]:
        """Back to back until etok's control word reaches ``seq``; only the final call is waited for."""
        call, control, unpack = self.call, self.control, struct.unpack_from
        calls = 0
        out = None
        t0 = time.monotonic_ns()  # CLOCK_MONOTONIC: the clock of etok's meter readings
        while unpack("<Q", control, 0)[0] < seq:
            out = call()
            calls += 1
        self.sync(out)
        t1 = time.monotonic_ns()
        return {"ok": True, "calls": calls, "t0Ns": t0, "t1Ns": t1}


def _serve(commands_fd: int, replies_fd: int) -> int:
    commands = os.fdopen(commands_fd, "r", encoding="utf-8")
    replies = os.fdopen(replies_fd, "w", encoding="utf-8", buffering=1)

    def send(obj: Dict[str, Any]) -> None:
        replies.write(json.dumps(obj, allow_nan=False) + "\n")
        replies.flush()

    send({"ok": True, "protocol": PROTOCOL, "pid": os.getpid()})
    session: Optional[Session] = None
    for line in commands:
        if not line.strip():
            continue
        message = json.loads(line)
        op = message.get("op")
        try:
            if op == "setup":
                session = Session(message)
                send({"ok": True, "info": session.info(), "hasOutput": True})
            elif session is None:
                send(_error(RuntimeError(f"{op!r} before setup"), "EXECUTOR_PROTOCOL"))
            elif op == "output":
                send(session.output(message["file"]))
            elif op == "time":
                send(session.time(int(message["n"]), bool(message.get("cold", False))))
            elif op == "run":
                send(session.run(int(message["seq"])))
            else:
                send(_error(ValueError(f"unknown op {op!r}"), "EXECUTOR_PROTOCOL"))
        except etok.Unsupported as exc:
            send(_error(exc, "EXECUTOR_UNSUPPORTED"))
        except Exception as exc:  # noqa: BLE001 - every failure of user code is reported, never raised
            send(_error(exc))
    return 0


def _list(path: str, out: str) -> int:
    try:
        module = _load_user_file(path)
        reasons = getattr(module, "NO_PEER_REASONS", {})
        result: Dict[str, Any] = {
            "callables": [
                {"name": r.name, "reference": r.reference, "description": r.description}
                for r in etok.registered().values()
            ],
            "python": sys.version.split()[0],
            "noPeerReasons": {str(k): str(v) for k, v in reasons.items()} if isinstance(reasons, dict) else {},
        }
        code = 0
    except BaseException as exc:  # noqa: BLE001 - reported to etok as data
        result = _error(exc)
        code = 3
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return code


def main(argv: list) -> int:
    if len(argv) >= 4 and argv[0] == "--list" and argv[2] == "--out":
        return _list(argv[1], argv[3])
    fds = os.environ.get("ETOK_EXECUTOR_FDS", "")
    if not fds:
        sys.stderr.write("etok._executor: started by etok only (ETOK_EXECUTOR_FDS is not set)\n")
        return 2
    faulthandler.enable()  # a segfault prints the Python stack to stderr before the process dies
    commands_fd, replies_fd = (int(x) for x in fds.split(","))
    return _serve(commands_fd, replies_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
