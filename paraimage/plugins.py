"""Finding the stages that register themselves: every module of a package, imported.

A stage package (``filters/``, ``curation/``) keeps a registry that its modules fill
at import (``register_filter``, ``register_source``). The registry calls
``import_package_modules`` the first time it is asked, so a module dropped into the
package is registered without a list of modules to edit anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache


@cache
def import_package_modules(package_name: str) -> tuple[str, ...]:
    """Import each module and subpackage directly in ``package_name``; their names."""
    package = importlib.import_module(package_name)
    names = tuple(f"{package_name}.{module.name}"
                  for module in pkgutil.iter_modules(package.__path__))
    for name in names:
        importlib.import_module(name)
    return names
