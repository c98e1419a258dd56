"""Mark regions of a Python program for `etok measure --regions -- python3 your_script.py`.

    from etok_regions import region

    with region("decode", calls=100, tokens=800):
        for _ in range(100):
            step()

etok times each region on arrival of its markers and measures its energy with the same window rules as
`etok bench`. Outside etok (ETOK_MARKER_FD unset) the context manager does nothing, so the script runs unchanged.
No dependencies; Python 3.8+.
"""

import os
from contextlib import contextmanager

_fd = os.environ.get("ETOK_MARKER_FD")
_stream = os.fdopen(int(_fd), "w", buffering=1) if _fd else None  # line-buffered: each marker leaves at once


def _write(line):
    if _stream is not None:
        _stream.write(line + "\n")
        _stream.flush()


@contextmanager
def region(name, calls, tokens, phase="decode"):
    """A measured region that runs `calls` kernel calls producing `tokens` tokens in total."""
    if int(calls) < 1 or int(tokens) < 1:
        raise ValueError("calls and tokens must be positive integers")
    _write(f"begin {name} phase={phase}")
    try:
        yield
    finally:
        _write(f"end {name} calls={int(calls)} tokens={int(tokens)}")
