from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Allocates, touches and frees a 64 MiB array, then does it again, and prints the minor
# page faults of the second time: the kernel's work that retain_heap saves each batch.
_PROBE = """
import resource, sys
import numpy as np
from stats.heap import retain_heap
applied = retain_heap() if sys.argv[1] == "retain" else None
def touch():
    a = np.ones(16 * 1024 * 1024, np.float32)
    a += 1
    del a
touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _second_touch_faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_retained_heap_reuses_freed_arrays_without_page_faults() -> None:
    applied, retained = _second_touch_faults("retain")
    default, unretained = _second_touch_faults("default")
    assert (applied, default) == ("True", "None")
    # by default the array's pages come fresh from the kernel each time (2 MiB or 4 KiB
    # pages, as transparent huge pages allow); retained, the heap's are reused
    assert unretained >= 32
    assert retained <= 4
