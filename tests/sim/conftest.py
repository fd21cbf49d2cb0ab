from __future__ import annotations

from pathlib import Path

import pytest

from tests import shared

TRACES = shared.TRACES
HPC2N = TRACES / "HPC2N-2002-2.2_alea-subset-3170.swf"


@pytest.fixture
def hpc2n() -> Path:
    if not HPC2N.exists():
        pytest.skip(f"no trace at {HPC2N} (set DROVER_TRACES)")
    return HPC2N
