"""Make PyPI's torchvision 0.28 importable beside the local torch 2.13.0+cpu build.

The wheel's compiled ops do not load against the +cpu torch, and ``import torchvision``
then dies on ``operator torchvision::nms does not exist``. Declaring the two op schemas
before torchvision registers its Python fakes is enough for transforms (which open_clip
and vLLM's processors use); ``torchvision.ops`` kernels stay unavailable, which nothing
in this project needs.

vLLM inspects models in subprocesses, so the fix must run at interpreter start. It is
installed as a ``.pth`` file that adds a meta-path finder; torch is imported only when
something imports torchvision, so plain interpreters pay nothing.

Usage: ``python scripts/cpu_torchvision_shim.py install`` (done by scripts/setup.sh,
CPU environments only).
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

PTH_NAME = "paraimage_torchvision_shim.pth"
MODULE_NAME = "_paraimage_torchvision_shim"

SHIM_MODULE = '''
import importlib.abc
import sys

_LIBRARY = None


def _declare_ops():
    global _LIBRARY
    import torch

    _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        try:
            _declare_ops()
        except Exception as exc:  # never break interpreter start-up
            print(f"paraimage torchvision shim: {exc}", file=sys.stderr)
        return None


sys.meta_path.insert(0, _Finder())
'''


def install() -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    (site / f"{MODULE_NAME}.py").write_text(SHIM_MODULE)
    pth = site / PTH_NAME
    pth.write_text(f"import {MODULE_NAME}\n")
    return pth


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: cpu_torchvision_shim.py install")
    print(f"installed {install()}")
