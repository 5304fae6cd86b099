"""The ``paraimage`` console command.

Each subcommand lives with the package that owns it and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
This module only collects them (registry, not an if/elif chain).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import paraimage

# Modules that provide subcommands; a module whose optional dependencies are missing
# is reported when its command is used, not when another one is.
SUBCOMMAND_MODULES = (
    "workflows.recaption",
    "stats.cli",
    "annotation_tool.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paraimage", description=paraimage.__doc__)
    parser.add_argument("--version", action="version", version=f"paraimage {paraimage.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    version = subparsers.add_parser("version", help="print the version and exit")
    version.set_defaults(func=lambda _args: print(f"paraimage {paraimage.__version__}") or 0)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] == module_name.split(".")[0]:
                continue  # that package has not been built yet
            raise
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
