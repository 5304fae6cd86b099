"""Filter tests: put this folder on sys.path for ``filter_helpers``.

The suite runs with ``--import-mode=importlib``, which puts no test folder on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
