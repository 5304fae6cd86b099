"""Keeping freed memory in the process's heap while tagging (glibc's ``mallopt``).

spaCy's tok2vec and tagger allocate and free arrays of tens of MB for every batch of
docs. glibc serves each from fresh ``mmap`` pages and unmaps them on free (or trims the
heap they came from), so the kernel zero-fills every page of them again on the next
batch: on a 256-caption batch ~75,000 minor page faults per 1,000 captions, 20-40 % of
the stage's time spent in the kernel, varying with the heap's history. With mmap off
and trimming raised to 1 GiB, freed arrays are reused from the heap: no faults after
the first batch, and the resident size stays at the stage's peak (a few hundred MB),
which is what a worker that does nothing else wants.

It changes the allocator of the whole process, so it is applied where the process is
the stage's, in two ways:

* ``retain_heap()`` (``TextStatsExtractor`` calls it unless told not to) sets it at run
  time, which holds for the thread that calls it and the main heap: the in-process
  ``paraimage stats`` command, and its Ray actors (``--workers``), whose methods run on
  their main thread;
* ``RETAINED_HEAP_ENV``, the same through glibc's environment variables, read when a
  process starts, plus one heap for all threads: the Ray Data actors of the job's stats
  stage. Ray Data calls a stage from a thread pool, whose
  threads get heaps of their own, which ``mallopt`` does not reach.

Elsewhere (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import sys

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TRIM_THRESHOLD_BYTES = 1 << 30
RETAINED_HEAP_ENV = {
    "MALLOC_ARENA_MAX": "1",  # the worker threads share the main heap, which is retained
    "MALLOC_MMAP_MAX_": "0",
    "MALLOC_TRIM_THRESHOLD_": str(_TRIM_THRESHOLD_BYTES),
}


def retain_heap() -> bool:
    """Stops glibc returning freed memory to the kernel; True when it applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                           _TRIM_THRESHOLD_BYTES))
