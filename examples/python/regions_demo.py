"""Two regions a program marks for `etok measure --regions -- python3 examples/python/regions_demo.py`: a busy loop
in pure Python standing in for a decode step, long enough (about 0.3 s a region) for a meter's window rule.
Outside etok the markers go nowhere and the program runs as it is."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etok_regions import region  # noqa: E402


def step(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


for _ in range(3):
    with region("decode-step", calls=100, tokens=800):
        for _ in range(100):
            step(0.003)
print("done")
