"""The glibc allocator tuning: freed array memory stays in the process (no page faults on
reuse), and the opt-out works."""
import subprocess
import sys

import pytest

PROBE = """
import resource, numpy as np, ember
from ember.backend import ALLOCATOR_TUNED
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():                           # six 4 MiB arrays alive at once, then all freed,
    live = [np.ones(1 << 19) for _ in range(6)]   # like a step's activations
    del live
for _ in range(3):
    step()
before = faults()
for _ in range(10):
    step()
print(ALLOCATOR_TUNED, faults() - before)
"""


def _probe(**env):
    import os
    out = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning is Linux-only")
def test_freed_memory_is_reused_without_page_faults():
    tuned, faults = _probe()
    untuned, untuned_faults = _probe(EMBER_MALLOC_TUNING="0")
    assert tuned and not untuned
    pages = 10 * (24 << 20) // 4096
    assert untuned_faults > pages // 4         # default glibc trims the heap: faults anew
    assert faults < pages // 20                # tuned: the freed memory is reused


def test_users_own_glibc_settings_win():
    tuned, _ = _probe(MALLOC_TRIM_THRESHOLD_="0")
    assert not tuned
