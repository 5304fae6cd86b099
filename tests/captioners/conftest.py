from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path; tiny_cogvlm (a test-only
# model builder) is imported by name, so this folder goes on it (as tests/export does).
sys.path.insert(0, str(Path(__file__).parent))
