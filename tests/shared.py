"""Where the reference material lives: ../shared beside the checkout (as in CI),
else $DROVER_SHARED, else /work/shared."""

from __future__ import annotations

import os
from pathlib import Path


def _shared() -> Path:
    candidates = [os.environ.get("DROVER_SHARED", ""),
                  str(Path(__file__).resolve().parent.parent.parent / "shared"), "/work/shared"]
    for c in candidates:
        if c and (Path(c) / "slurm-golden").is_dir():
            return Path(c)
    return Path(candidates[1])


SHARED = _shared()
GOLDEN = Path(os.environ.get("DROVER_GOLDEN_DIR") or SHARED / "slurm-golden")
TRACES = Path(os.environ.get("DROVER_TRACES") or SHARED / "traces")
