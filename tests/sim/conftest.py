from __future__ import annotations

import os
from pathlib import Path

import pytest

TRACES = Path(os.environ.get("DROVER_TRACES", "/work/shared/traces"))
HPC2N = TRACES / "HPC2N-2002-2.2_alea-subset-3170.swf"


@pytest.fixture
def hpc2n() -> Path:
    if not HPC2N.exists():
        pytest.skip(f"no trace at {HPC2N} (set DROVER_TRACES)")
    return HPC2N
