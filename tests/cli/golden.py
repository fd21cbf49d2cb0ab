"""Read the real-Slurm golden files (tests/shared.py says where they are)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import shared

GOLDEN_DIR = shared.GOLDEN


@dataclass
class Golden:
    command: str
    stdout: str
    stderr: str
    exit: int


def load(prefix: str) -> Golden:
    """The golden file whose name starts with ``prefix`` (``"046"``); skips if absent."""
    matches = sorted(GOLDEN_DIR.glob(f"{prefix}*.txt")) if GOLDEN_DIR.is_dir() else []
    if not matches:
        pytest.skip(f"golden file {prefix} not available")
    text = matches[0].read_text()
    head, _, rest = text.partition("\n--- stdout")
    nl_trailer = rest.startswith(" (no trailing newline)")
    rest = rest.split("\n", 1)[1]
    out, _, rest = rest.partition("--- stderr\n")
    err, _, code = rest.partition("--- exit ")
    if nl_trailer and out.endswith("\n"):
        out = out[:-1]
    return Golden(head.removeprefix("$ "), out, err, int(code.strip()))
