"""ipcbench compare: placeholder until it lands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ipcbench.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("results")])
    parser.add_argument("-o", "--output", type=Path, default=Path("reports/index.html"))


def command(args: argparse.Namespace) -> int:
    raise InputError("compare is not implemented yet")
