"""Node resources: GPU names to Slurm gres types, options over detection."""

from __future__ import annotations

import os

import pytest

from nodeagent.hardware import _gpu_count, detect, gpu_type, gres_string


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA A100-SXM4-80GB", "a100"),
        ("Tesla V100-PCIE-32GB", "v100"),
        ("NVIDIA L40S", "l40s"),
        ("NVIDIA GeForce RTX 3090", "geforce_rtx_3090"),
        ("NVIDIA H200", "h200"),
    ],
)
def test_gpu_type(name: str, short: str) -> None:
    assert gpu_type(name) == short


def test_gres_string_counts_gpus_per_type() -> None:
    names = ["NVIDIA H100 80GB HBM3"] * 2 + ["NVIDIA A100-SXM4-80GB"]
    assert gres_string(names) == "gpu:a100:1,gpu:h100:2"
    assert gres_string([]) == ""


@pytest.mark.parametrize(
    ("gres", "n"), [("gpu:h100:4", 4), ("gpu:2", 2), ("gpu", 1), ("gpu:a:1,gpu:b:2", 3), ("", 0)]
)
def test_gpu_count(gres: str, n: int) -> None:
    assert _gpu_count(gres) == n


def test_options_win_over_detection() -> None:
    hw = detect(cpus=8, memory_mb=1234, gres="gpu:h100:2", features="a,b")
    assert (hw.cpus, hw.sockets, hw.cores_per_socket, hw.threads_per_core) == (8, 1, 8, 1)
    assert (hw.real_memory_mb, hw.gres, hw.features, hw.gpus) == (1234, "gpu:h100:2", "a,b", [0, 1])


def test_detection_describes_this_machine() -> None:
    hw = detect()
    assert hw.cpus == os.cpu_count()
    assert hw.sockets * hw.cores_per_socket * hw.threads_per_core <= hw.cpus
    assert hw.real_memory_mb > 0
