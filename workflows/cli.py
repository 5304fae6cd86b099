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

# Modules that provide subcommands.
SUBCOMMAND_MODULES = (
    "workflows.recaption",
    "workflows.estimate",
    "stats.cli",
    "export.cli",
    "annotation_tool.cli",
    "workflows.runview.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paraimage", description=paraimage.__doc__)
    parser.add_argument("--version", action="version", version=f"paraimage {paraimage.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    version = subparsers.add_parser("version", help="print the version and exit")
    version.set_defaults(func=lambda _args: print(f"paraimage {paraimage.__version__}") or 0)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
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
